import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from "jose";
import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import { takeStartUpLock } from "../store/start-up-lock.ts";

/**
 * RS256 token-signing keys, generated here and stored sealed. Rotation is two-phase: a new key
 * is published in the JWKS at once but signs only after a grace period, by which time relying
 * parties that cache the JWKS have it; the old key stops signing then and stays published for as
 * long as tokens it signed may still be presented.
 */
export const defaultGraceSeconds = 3600;

export type KeySchedule = {
  /** Private JWKs for oidc-provider: the key that signs now first, then the others published. */
  jwks: JWK[];
  /** When the set next changes (a key starts signing or drops out of the JWKS). */
  changesAt: Date | undefined;
};

async function newKeyPair(): Promise<{ kid: string; publicJwk: JWK; privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair("RS256", {
    modulusLength: 2048,
    extractable: true,
  });
  const publicJwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  const common = { kid, alg: "RS256", use: "sig" };
  return {
    kid,
    publicJwk: { ...publicJwk, ...common },
    privateJwk: { ...(await exportJWK(privateKey)), ...common },
  };
}

/** A new key notifies this channel in its transaction; every node's provider host listens (start.ts). */
export const signingKeysChannel = "careid_signing_keys";

async function insertKey(queryable: Queryable, sealer: Sealer, signsFrom: Date) {
  const key = await newKeyPair();
  await queryable
    .insertInto("signing_keys")
    .values({
      kid: key.kid,
      alg: "RS256",
      public_jwk: JSON.stringify(key.publicJwk),
      sealed_private_jwk: sealer.seal(JSON.stringify(key.privateJwk)),
      signs_from: signsFrom,
    })
    .execute();
  await sql`SELECT pg_notify(${signingKeysChannel}, ${key.kid})`.execute(queryable);
  return key.kid;
}

/** Creates the first signing key on first start; afterwards does nothing. */
export async function ensureSigningKey(queryable: Queryable, actor: Actor, sealer: Sealer): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    await takeStartUpLock(tx);
    const existing = await tx.selectFrom("signing_keys").select("kid").limit(1).executeTakeFirst();
    if (existing) return;
    const kid = await insertKey(tx, sealer, new Date());
    await recordEvent(tx, actor, {
      action: "signing-key.created",
      subject: { type: "signing-key", id: kid },
    });
  });
}

export async function rotateSigningKeys(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  graceSeconds = defaultGraceSeconds,
): Promise<{ kid: string; signsFrom: Date; retired: string[] }> {
  return inTransaction(queryable, async (tx) => {
    const signsFrom = new Date(Date.now() + graceSeconds * 1000);
    const retiring = await tx
      .selectFrom("signing_keys")
      .select("kid")
      .where("retired_at", "is", null)
      .execute();
    const kid = await insertKey(tx, sealer, signsFrom);
    const retired = retiring.map((row) => row.kid);
    if (retired.length > 0) {
      await tx
        .updateTable("signing_keys")
        .set({ retired_at: signsFrom, published_until: new Date(signsFrom.getTime() + graceSeconds * 1000) })
        .where("kid", "in", retired)
        .execute();
    }
    await recordEvent(tx, actor, {
      action: "signing-key.rotated",
      subject: { type: "signing-key", id: kid },
      after: { kid, signsFrom: signsFrom.toISOString(), retired },
    });
    return { kid, signsFrom, retired };
  });
}

export async function keySchedule(
  queryable: Queryable,
  sealer: Sealer,
  now = new Date(),
): Promise<KeySchedule> {
  const rows = await queryable
    .selectFrom("signing_keys")
    .selectAll()
    .where((eb) => eb.or([eb("published_until", "is", null), eb("published_until", ">", now)]))
    .orderBy("signs_from", "desc")
    .execute();
  const signing = (row: (typeof rows)[number]) =>
    row.signs_from <= now && (!row.retired_at || row.retired_at > now);
  const ordered = [...rows.filter(signing), ...rows.filter((row) => !signing(row))];
  const moments = rows
    .flatMap((row) => [row.signs_from, row.retired_at, row.published_until])
    .filter((moment): moment is Date => moment !== null && moment > now)
    .sort((left, right) => left.getTime() - right.getTime());
  return {
    jwks: ordered.map((row) => JSON.parse(sealer.open(row.sealed_private_jwk)) as JWK),
    changesAt: moments[0],
  };
}

export async function listSigningKeys(queryable: Queryable) {
  return queryable
    .selectFrom("signing_keys")
    .select(["kid", "alg", "created_at", "signs_from", "retired_at", "published_until"])
    .orderBy("created_at")
    .execute();
}
