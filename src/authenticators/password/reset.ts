import { createHash, createHmac, randomBytes, randomInt } from "node:crypto";
import { sql } from "kysely";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { InvalidInputError } from "../../errors.ts";
import { queueMessage } from "../../messaging/outbox.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";
import { stepOfCode } from "../totp/codes.ts";
import { checkNewPassword } from "./new-password.ts";
import { hashPassword, storePasswordHash } from "./passwords.ts";

/**
 * A forgotten (or RA-reset) authenticator app password, reset by its holder with two things: a
 * one-time code emailed to the address on their profile, and a current code from their app. The
 * browser holds a random reset token (only its digest is kept); the emailed code is kept as an
 * HMAC keyed by that token. Asking answers alike whether or not the identifier names anyone who
 * can reset, so the page does not tell who has a Care Identity.
 */
export const resetSettings = { codeMinutes: 15, wrongTries: 5 };
export const wrongResetCodes = "The code from the email or the code from your app is not correct.";

const digestOf = (token: string) => createHash("sha256").update(token).digest("base64url");
const codeDigest = (token: string, code: string) =>
  createHmac("sha256", token).update(code).digest("base64url");

export async function requestPasswordReset(
  queryable: Queryable,
  sealer: Sealer,
  identifier: string,
  correlationId?: string,
  now = new Date(),
): Promise<{ token: string }> {
  const token = randomBytes(32).toString("base64url");
  const wanted = String(identifier ?? "").trim();
  if (!wanted) throw InvalidInputError.field("identifier", "Enter your Care Identity UUID or email address");
  const person = await queryable
    .selectFrom("people")
    .innerJoin("passwords", "passwords.uuid", "people.uuid")
    .innerJoin("totp_authenticators", "totp_authenticators.uuid", "people.uuid")
    .select(["people.uuid", "people.email"])
    .where("people.status", "=", "active")
    .where(
      isCareIdentifier(wanted)
        ? sql<boolean>`people.uuid = ${wanted}`
        : sql<boolean>`lower(people.email) = ${wanted.toLowerCase()}`,
    )
    .executeTakeFirst();
  if (!person?.email) return { token };
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
  const actor: Actor = { kind: "person", id: person.uuid, source: "ACCOUNT", correlationId };
  await inTransaction(queryable, async (tx) => {
    // One open reset per person: asking again replaces the last.
    await tx
      .updateTable("password_resets")
      .set({ expires_at: now })
      .where("uuid", "=", person.uuid)
      .where("completed_at", "is", null)
      .execute();
    const messageId = await queueMessage(tx, sealer, {
      channel: "email",
      to: String(person.email),
      template: "password-reset-code",
      personalisation: { code, minutes: String(resetSettings.codeMinutes) },
    });
    await tx
      .insertInto("password_resets")
      .values({
        token_digest: digestOf(token),
        uuid: person.uuid,
        message_id: messageId,
        code_digest: codeDigest(token, code),
        expires_at: new Date(now.getTime() + resetSettings.codeMinutes * 60_000),
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "password.reset-requested",
      subject: { type: "person", id: person.uuid },
      after: { message: messageId },
    });
  });
  return { token };
}

export async function completePasswordReset(
  queryable: Queryable,
  sealer: Sealer,
  attempt: { token: string; emailCode: string; appCode: string; password: string; confirmation: string },
  correlationId?: string,
  now = new Date(),
): Promise<{ uuid: string }> {
  const row = await queryable
    .selectFrom("password_resets")
    .selectAll()
    .where("token_digest", "=", digestOf(String(attempt.token ?? "")))
    .executeTakeFirst();
  if (!row || row.completed_at || row.expires_at <= now || row.wrong_tries >= resetSettings.wrongTries)
    throw InvalidInputError.field("emailCode", wrongResetCodes);
  checkNewPassword(attempt.password, attempt.confirmation, { uuid: row.uuid });
  const hashed = await hashPassword(attempt.password);
  const actor: Actor = { kind: "person", id: row.uuid, source: "ACCOUNT", correlationId };
  const outcome = await inTransaction(queryable, async (tx) => {
    const app = await tx
      .selectFrom("totp_authenticators")
      .select(["sealed_secret", "last_used_step"])
      .where("uuid", "=", row.uuid)
      .forUpdate()
      .executeTakeFirst();
    const step = app ? stepOfCode(sealer.open(app.sealed_secret), attempt.appCode, now) : undefined;
    const emailRight = codeDigest(attempt.token, String(attempt.emailCode ?? "").trim()) === row.code_digest;
    const appRight = step !== undefined && app !== undefined && step > app.last_used_step;
    if (!emailRight || !appRight) {
      await tx
        .updateTable("password_resets")
        .set({ wrong_tries: row.wrong_tries + 1 })
        .where("token_digest", "=", row.token_digest)
        .execute();
      await recordEvent(tx, actor, {
        action: "password.reset-refused",
        subject: { type: "person", id: row.uuid },
        after: { emailCode: emailRight, appCode: appRight, tries: row.wrong_tries + 1 },
      });
      return false;
    }
    await tx
      .updateTable("totp_authenticators")
      .set({ last_used_step: step, last_used_at: now })
      .where("uuid", "=", row.uuid)
      .execute();
    await tx
      .updateTable("password_resets")
      .set({ completed_at: now })
      .where("token_digest", "=", row.token_digest)
      .execute();
    await storePasswordHash(tx, actor, row.uuid, hashed, "password.reset");
    return true;
  });
  if (!outcome) throw InvalidInputError.field("emailCode", wrongResetCodes);
  return { uuid: row.uuid };
}
