import { randomBytes } from "node:crypto";
import { aalOf, isMethod, type Method } from "../../cis2/assurance.ts";
import type { Queryable } from "../../store/database.ts";
import { digestOfToken } from "../enrolment/links.ts";

/**
 * Sessions of the "your authenticators" page. A session lasts 15 minutes from the sign-in that
 * made it and is never extended: changing one's authenticators is a short task, and a short life
 * bounds what a stolen cookie or a CIS2 session ended elsewhere can still do.
 */
export const accountSessionMinutes = 15;

export type AccountSession = { token: string; uuid: string; method: Method; aal: number; expiresAt: Date };

export async function startAccountSession(
  queryable: Queryable,
  signedIn: { uuid: string; method: Method },
  now = new Date(),
): Promise<AccountSession> {
  const token = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + accountSessionMinutes * 60_000);
  await queryable
    .insertInto("account_sessions")
    .values({
      token_digest: digestOfToken(token),
      uuid: signedIn.uuid,
      method: signedIn.method,
      expires_at: expiresAt,
    })
    .execute();
  await queryable.deleteFrom("account_sessions").where("expires_at", "<", now).execute();
  return { token, ...signedIn, aal: aalOf(signedIn.method), expiresAt };
}

export async function findAccountSession(
  queryable: Queryable,
  token: string | undefined,
  now = new Date(),
): Promise<AccountSession | undefined> {
  if (!token) return undefined;
  const row = await queryable
    .selectFrom("account_sessions")
    .selectAll()
    .where("token_digest", "=", digestOfToken(token))
    .where("expires_at", ">", now)
    .executeTakeFirst();
  if (!row || !isMethod(row.method)) return undefined;
  return { token, uuid: row.uuid, method: row.method, aal: aalOf(row.method), expiresAt: row.expires_at };
}

export async function endAccountSession(queryable: Queryable, token: string): Promise<void> {
  await queryable.deleteFrom("account_sessions").where("token_digest", "=", digestOfToken(token)).execute();
}

/** Keeps the challenge of a registration the page started. */
export async function holdAccountChallenge(queryable: Queryable, session: AccountSession, challenge: string) {
  await queryable
    .updateTable("account_sessions")
    .set({ pending_challenge: challenge })
    .where("token_digest", "=", digestOfToken(session.token))
    .execute();
}

export async function pendingAccountChallenge(queryable: Queryable, session: AccountSession) {
  const row = await queryable
    .selectFrom("account_sessions")
    .select("pending_challenge")
    .where("token_digest", "=", digestOfToken(session.token))
    .executeTakeFirst();
  return row?.pending_challenge ?? null;
}

/** Spends the challenge inside the registration's transaction: a second use of it finds none. */
export async function spendAccountChallenge(
  queryable: Queryable,
  session: AccountSession,
  challenge: string,
) {
  const spent = await queryable
    .updateTable("account_sessions")
    .set({ pending_challenge: null })
    .where("token_digest", "=", digestOfToken(session.token))
    .where("pending_challenge", "=", challenge)
    .returning("uuid")
    .executeTakeFirst();
  if (!spent) throw new Error("the registration challenge was already used");
}
