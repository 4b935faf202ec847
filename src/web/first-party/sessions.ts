import { createHash, randomBytes } from "node:crypto";
import { aalOf, isMethod, type Method } from "../../assurance/methods.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Queryable } from "../../store/database.ts";
import type { FirstPartyApp } from "./app.ts";
import type { SignedInUser } from "./sign-in.ts";

/**
 * Sessions of the first-party apps live in the database, so any node can serve any request. The
 * browser holds a random token; the table holds its digest. A session ends after the app's idle
 * time or its longest life; an app whose two limits are equal never extends a session.
 */
export type FirstPartySession = {
  tokenDigest: string;
  uuid: string;
  /** The sign-in method (amr) the person used, and its AAL (0 when CIS2 named none). */
  method: Method | undefined;
  aal: number;
  formSecret: Buffer;
  sealedIdToken: string;
  expiresAt: Date;
};

/** last_used_at is written at most this often, so reading pages does not mean a write each time. */
const touchInterval = 60_000;

function digestOf(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/**
 * Starts a session after a CIS2 sign-in and gives the token for the browser's cookie. The app's
 * sessions that have ended by time are removed here, so the table stays small.
 */
export async function startSession(
  queryable: Queryable,
  sealer: Sealer,
  app: FirstPartyApp,
  user: SignedInUser,
  now = new Date(),
): Promise<string> {
  await queryable
    .deleteFrom("first_party_sessions")
    .where("app", "=", app.name)
    .where((eb) =>
      eb.or([
        eb("last_used_at", "<", new Date(now.getTime() - app.idleMinutes * 60_000)),
        eb("created_at", "<", new Date(now.getTime() - app.longestMinutes * 60_000)),
      ]),
    )
    .execute();
  const token = randomBytes(32).toString("base64url");
  await queryable
    .insertInto("first_party_sessions")
    .values({
      token_digest: digestOf(token),
      app: app.name,
      uuid: user.uuid,
      method: user.method ?? null,
      cis2_sid: user.sid ?? null,
      sealed_id_token: sealer.seal(user.idToken),
      sealed_form_secret: sealer.seal(randomBytes(32).toString("base64url")),
      created_at: now,
      last_used_at: now,
    })
    .execute();
  return token;
}

/** The app's live session a cookie names, marked as used; an expired one is removed. */
export async function findSession(
  queryable: Queryable,
  sealer: Sealer,
  app: FirstPartyApp,
  token: string | undefined,
  now = new Date(),
): Promise<FirstPartySession | undefined> {
  if (!token) return undefined;
  const tokenDigest = digestOf(token);
  const row = await queryable
    .selectFrom("first_party_sessions")
    .selectAll()
    .where("token_digest", "=", tokenDigest)
    .where("app", "=", app.name)
    .executeTakeFirst();
  if (!row) return undefined;
  const lastUsed = new Date(row.last_used_at).getTime();
  const expiresAt = new Date(
    Math.min(
      lastUsed + app.idleMinutes * 60_000,
      new Date(row.created_at).getTime() + app.longestMinutes * 60_000,
    ),
  );
  if (expiresAt <= now) {
    await endSession(queryable, tokenDigest);
    return undefined;
  }
  if (now.getTime() - lastUsed > touchInterval)
    await queryable
      .updateTable("first_party_sessions")
      .set({ last_used_at: now })
      .where("token_digest", "=", tokenDigest)
      .execute();
  const method = isMethod(row.method) ? row.method : undefined;
  return {
    tokenDigest,
    uuid: row.uuid,
    method,
    aal: method ? aalOf(method) : 0,
    formSecret: Buffer.from(sealer.open(row.sealed_form_secret), "base64url"),
    sealedIdToken: row.sealed_id_token,
    expiresAt,
  };
}

export async function endSession(queryable: Queryable, tokenDigest: string): Promise<void> {
  await queryable.deleteFrom("first_party_sessions").where("token_digest", "=", tokenDigest).execute();
}

/** Keeps the challenge of a WebAuthn registration the session started. */
export async function holdChallenge(queryable: Queryable, session: FirstPartySession, challenge: string) {
  await queryable
    .updateTable("first_party_sessions")
    .set({ pending_challenge: challenge })
    .where("token_digest", "=", session.tokenDigest)
    .execute();
}

export async function pendingChallenge(queryable: Queryable, session: FirstPartySession) {
  const row = await queryable
    .selectFrom("first_party_sessions")
    .select("pending_challenge")
    .where("token_digest", "=", session.tokenDigest)
    .executeTakeFirst();
  return row?.pending_challenge ?? null;
}

/** Spends the challenge inside the registration's transaction: a second use of it finds none. */
export async function spendChallenge(queryable: Queryable, session: FirstPartySession, challenge: string) {
  const spent = await queryable
    .updateTable("first_party_sessions")
    .set({ pending_challenge: null })
    .where("token_digest", "=", session.tokenDigest)
    .where("pending_challenge", "=", challenge)
    .returning("uuid")
    .executeTakeFirst();
  if (!spent) throw new Error("the registration challenge was already used");
}
