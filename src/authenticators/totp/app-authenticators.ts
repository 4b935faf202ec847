import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { InvalidInputError, NotFoundError } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";
import { consumeEnrolmentLink, type EnrolmentLink, holdCeremony } from "../enrolment/links.ts";
import { checkPassword, storePasswordHash } from "../password/passwords.ts";
import { releaseAccount } from "../throttle.ts";
import { newTotpSecret, provisioningUri, stepOfCode } from "./codes.ts";

/**
 * The authenticator app (AAL2, amr TOTP): the person's password and a 6-digit code. One app per
 * person; enrolling another replaces it. The secret is sealed at rest. A code is accepted once
 * (the last accepted time step is kept), and after five wrong codes the app locks for 15 minutes.
 * Only codes sent with the right password count towards the lock, so a stranger who knows
 * someone's UUID cannot lock their app; wrong passwords are slowed by the sign-in throttles
 * (../throttle.ts), which also cap wrong codes over a day, so the count does not start afresh
 * after each lock as far as an attacker is concerned.
 */
export const lockout = { failures: 5, coolDownMinutes: 15 };

export type TotpRefusal = "not-enrolled" | "locked" | "wrong-password-or-code" | "reused-code";
/** `passwordMatched` says which factor failed, for the throttles; the message never does. */
export type TotpOutcome =
  | { accepted: true }
  | { accepted: false; reason: TotpRefusal; message: string; passwordMatched: boolean };

export const wrongPasswordOrCode = "The password or the code is not correct.";

async function hasTotp(queryable: Queryable, uuid: string): Promise<boolean> {
  const row = await queryable
    .selectFrom("totp_authenticators")
    .select("uuid")
    .where("uuid", "=", uuid)
    .executeTakeFirst();
  return row !== undefined;
}

/** The secret an enrolment link shows: made on first view, then the same until it is confirmed. */
export async function pendingTotpSecret(
  queryable: Queryable,
  sealer: Sealer,
  link: EnrolmentLink,
): Promise<{ secret: string; uri: string }> {
  let secret = link.pendingTotpSecret ? sealer.open(link.pendingTotpSecret) : undefined;
  if (!secret) {
    secret = newTotpSecret();
    await holdCeremony(queryable, link, { totpSecret: sealer.seal(secret) });
  }
  return { secret, uri: provisioningUri(secret, link.uuid) };
}

/**
 * Confirms the app with a code it shows; that code is then spent, like any accepted code. With
 * `passwordHash` (the holder's chosen password, hashed by the caller) the password is set in
 * the same transaction: the app and its first factor arrive together.
 */
export async function enrolTotp(
  queryable: Queryable,
  sealer: Sealer,
  link: EnrolmentLink,
  code: string,
  correlationId?: string,
  now = new Date(),
  passwordHash?: string,
): Promise<void> {
  const actor: Actor = { kind: "person", id: link.uuid, source: "ENROLMENT", correlationId };
  const secret = link.pendingTotpSecret ? sealer.open(link.pendingTotpSecret) : undefined;
  const step = secret ? stepOfCode(secret, code, now) : undefined;
  if (!secret || step === undefined) {
    await inTransaction(queryable, (tx) =>
      recordEvent(tx, actor, {
        action: "totp.enrolment-refused",
        subject: { type: "person", id: link.uuid },
        after: { reason: secret ? "wrong-code" : "no-secret-shown" },
      }),
    );
    throw InvalidInputError.field(
      "code",
      secret
        ? "The code is not correct. Enter the 6-digit code your authenticator app shows now."
        : "Open the enrolment link again to see the QR code first.",
    );
  }
  await inTransaction(queryable, async (tx) => {
    await consumeEnrolmentLink(tx, link);
    const replaced = await hasTotp(tx, link.uuid);
    const values = {
      sealed_secret: sealer.seal(secret),
      last_used_step: step,
      failed_attempts: 0,
      locked_until: null,
    };
    await tx
      .insertInto("totp_authenticators")
      .values({ uuid: link.uuid, ...values })
      .onConflict((conflict) => conflict.column("uuid").doUpdateSet({ ...values, created_at: now }))
      .execute();
    await recordEvent(tx, actor, {
      action: "totp.enrolled",
      subject: { type: "person", id: link.uuid },
      after: { replaced },
    });
    if (passwordHash) await storePasswordHash(tx, actor, link.uuid, passwordHash, "password.set");
  });
}

/**
 * Checks a sign-in's password and code. Argon2id runs first, outside the transaction, so the
 * row lock that makes "accepted once" hold across nodes is kept only for the code check. Every
 * refusal and every accepted code is recorded with the state it changed.
 */
export async function checkTotpSignIn(
  queryable: Queryable,
  sealer: Sealer,
  actor: Actor,
  attempt: { uuid: string; password: string; code: string },
  now = new Date(),
): Promise<TotpOutcome> {
  const passwordMatched = await checkPassword(queryable, attempt.uuid, attempt.password);
  return inTransaction(queryable, async (tx) => {
    const subject = { type: "person", id: attempt.uuid };
    const refuse = async (reason: TotpRefusal, message: string, after: Record<string, unknown> = {}) => {
      await recordEvent(tx, actor, {
        action: "totp.sign-in-refused",
        subject,
        after: { reason, passwordMatched, ...after },
      });
      return { accepted: false as const, reason, message, passwordMatched };
    };
    const row = await tx
      .selectFrom("totp_authenticators")
      .selectAll()
      .where("uuid", "=", attempt.uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) return refuse("not-enrolled", "You have no authenticator app. Choose another way to sign in.");
    // Without the right password nothing about the app is told or changed: not even that it is locked.
    if (!passwordMatched) return refuse("wrong-password-or-code", wrongPasswordOrCode);
    if (row.locked_until && row.locked_until > now)
      return refuse("locked", lockedMessage(row.locked_until), {
        lockedUntil: row.locked_until.toISOString(),
      });
    const step = stepOfCode(sealer.open(row.sealed_secret), attempt.code, now);
    const reused = step !== undefined && step <= row.last_used_step;
    if (step === undefined || reused) {
      // A lock that has run out starts the count again.
      const earlier = row.locked_until ? 0 : row.failed_attempts;
      const failures = earlier + 1;
      const locks = failures >= lockout.failures;
      const lockedUntil = locks ? new Date(now.getTime() + lockout.coolDownMinutes * 60_000) : null;
      await tx
        .updateTable("totp_authenticators")
        .set({ failed_attempts: locks ? 0 : failures, locked_until: lockedUntil })
        .where("uuid", "=", attempt.uuid)
        .execute();
      if (lockedUntil)
        await recordEvent(tx, actor, {
          action: "totp.locked",
          subject,
          after: { failures, lockedUntil: lockedUntil.toISOString() },
        });
      if (reused)
        return refuse(
          "reused-code",
          "That code has already been used. Wait for your authenticator app to show a new code, then enter it.",
          { failures },
        );
      return refuse(
        "wrong-password-or-code",
        lockedUntil ? lockedMessage(lockedUntil) : wrongPasswordOrCode,
        { failures },
      );
    }
    await tx
      .updateTable("totp_authenticators")
      .set({ last_used_step: step, failed_attempts: 0, locked_until: null, last_used_at: now })
      .where("uuid", "=", attempt.uuid)
      .execute();
    await recordEvent(tx, actor, { action: "totp.code-accepted", subject, after: { step } });
    return { accepted: true as const };
  });
}

/**
 * An RA unlocks a person's locked authenticator app before its cool-down ends (Care Identity
 * Management calls this after checking policy "authenticator.issue"; the CLI acts as operator).
 * The unlock also lifts the day's cap on wrong passwords and codes and the back-offs of the
 * sign-in throttles. Unlocking what is not locked changes nothing and records nothing.
 */
export async function unlockTotp(
  queryable: Queryable,
  actor: Actor,
  uuid: string,
  now = new Date(),
): Promise<{ wasLocked: boolean }> {
  if (!isCareIdentifier(uuid)) throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  return inTransaction(queryable, async (tx) => {
    const row = await tx
      .selectFrom("totp_authenticators")
      .select(["locked_until", "failed_attempts"])
      .where("uuid", "=", uuid)
      .forUpdate()
      .executeTakeFirst();
    const { wasCapped } = await releaseAccount(tx, uuid, now);
    if (!row && !wasCapped)
      throw new NotFoundError("authenticator", `Care Identity ${uuid} has no authenticator app`);
    const appLocked = row?.locked_until != null && row.locked_until > now;
    const wasLocked = appLocked || wasCapped;
    if (!wasLocked && (row?.failed_attempts ?? 0) === 0) return { wasLocked };
    if (row)
      await tx
        .updateTable("totp_authenticators")
        .set({ locked_until: null, failed_attempts: 0 })
        .where("uuid", "=", uuid)
        .execute();
    await recordEvent(tx, actor, {
      action: "totp.unlocked",
      subject: { type: "person", id: uuid },
      before: {
        lockedUntil: row?.locked_until?.toISOString() ?? null,
        failures: row?.failed_attempts ?? 0,
        ...(wasCapped ? { dailyCapReached: true } : {}),
      },
      after: { lockedUntil: null, failures: 0 },
    });
    return { wasLocked };
  });
}

function lockedMessage(until: Date): string {
  return `Too many wrong attempts: your authenticator app is locked until ${until.toISOString().slice(11, 16)} UTC. Try again then, or ask your Registration Authority to unlock it.`;
}
