import { randomBytes } from "node:crypto";
import type { Queryable, Tx } from "../../store/database.ts";

/** A card signs a fresh server challenge to prove it is present; each is accepted once. */
export const challengeValidSeconds = 300;

export async function issueSmartcardChallenge(
  queryable: Queryable,
  now = new Date(),
): Promise<{ challenge: string; expiresAt: Date }> {
  const challenge = randomBytes(32).toString("base64url");
  const expiresAt = new Date(now.getTime() + challengeValidSeconds * 1000);
  await queryable
    .deleteFrom("smartcard_challenges")
    .where("expires_at", "<", new Date(now.getTime() - challengeValidSeconds * 1000))
    .execute();
  await queryable.insertInto("smartcard_challenges").values({ challenge, expires_at: expiresAt }).execute();
  return { challenge, expiresAt };
}

export type ChallengeUse = "fresh" | "unknown-challenge" | "replayed-challenge" | "expired-challenge";

/** Spends a challenge at its first presentation, whatever the outcome, so none is tried twice. */
export async function spendChallenge(tx: Tx, challenge: string, now = new Date()): Promise<ChallengeUse> {
  const row = await tx
    .selectFrom("smartcard_challenges")
    .selectAll()
    .where("challenge", "=", challenge)
    .forUpdate()
    .executeTakeFirst();
  if (!row) return "unknown-challenge";
  if (row.used_at) return "replayed-challenge";
  await tx
    .updateTable("smartcard_challenges")
    .set({ used_at: now })
    .where("challenge", "=", challenge)
    .execute();
  return row.expires_at < now ? "expired-challenge" : "fresh";
}
