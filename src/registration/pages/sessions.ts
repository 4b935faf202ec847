import { createHash, randomBytes } from "node:crypto";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";
import type { SignedInUser } from "./cis2-client.ts";

/**
 * CIM's sessions live in the database, so any node can serve any request. The browser holds a
 * random token; the table holds its digest. A session ends after an idle time or twelve hours.
 */
export type CimSession = {
  tokenDigest: string;
  uuid: string;
  formSecret: Buffer;
  sealedIdToken: string;
};

const longestSession = 12 * 60 * 60_000;
/** last_used_at is written at most this often, so reading pages does not mean a write each time. */
const touchInterval = 60_000;

export function digestOf(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}

/**
 * Starts a session after a CIS2 sign-in and gives the token for the browser's cookie. Sessions
 * that have ended by time since the last sign-in are removed here, so the table stays small.
 */
export async function startSession(
  db: Db,
  sealer: Sealer,
  user: SignedInUser,
  idleMinutes: number,
): Promise<string> {
  const now = Date.now();
  await db
    .deleteFrom("cim_sessions")
    .where((eb) =>
      eb.or([
        eb("last_used_at", "<", new Date(now - idleMinutes * 60_000)),
        eb("created_at", "<", new Date(now - longestSession)),
      ]),
    )
    .execute();
  const token = randomBytes(32).toString("base64url");
  await db
    .insertInto("cim_sessions")
    .values({
      token_digest: digestOf(token),
      uuid: user.uuid,
      cis2_sid: user.sid ?? null,
      sealed_id_token: sealer.seal(user.idToken),
      sealed_form_secret: sealer.seal(randomBytes(32).toString("base64url")),
    })
    .execute();
  return token;
}

/** The live session a cookie names, marked as used; an expired one is removed. */
export async function findSession(
  db: Db,
  sealer: Sealer,
  token: string | undefined,
  idleMinutes: number,
  now = new Date(),
): Promise<CimSession | undefined> {
  if (!token) return undefined;
  const tokenDigest = digestOf(token);
  const row = await db
    .selectFrom("cim_sessions")
    .selectAll()
    .where("token_digest", "=", tokenDigest)
    .executeTakeFirst();
  if (!row) return undefined;
  const idle = now.getTime() - new Date(row.last_used_at).getTime();
  if (idle > idleMinutes * 60_000 || now.getTime() - new Date(row.created_at).getTime() > longestSession) {
    await endSession(db, tokenDigest);
    return undefined;
  }
  if (idle > touchInterval)
    await db
      .updateTable("cim_sessions")
      .set({ last_used_at: now })
      .where("token_digest", "=", tokenDigest)
      .execute();
  return {
    tokenDigest,
    uuid: row.uuid,
    formSecret: Buffer.from(sealer.open(row.sealed_form_secret), "base64url"),
    sealedIdToken: row.sealed_id_token,
  };
}

export async function endSession(db: Db, tokenDigest: string): Promise<void> {
  await db.deleteFrom("cim_sessions").where("token_digest", "=", tokenDigest).execute();
}
