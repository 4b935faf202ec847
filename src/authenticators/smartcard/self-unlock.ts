import { createHash, createHmac, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { DomainError } from "../../errors.ts";
import { queueMessage } from "../../messaging/outbox.ts";
import { findPersonSummary } from "../../people/people.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import { takeAttempt } from "../throttle.ts";
import { checkCardSerial, liveCertificates } from "./cards.ts";

/**
 * Self-service unlock: the holder of a locked card proves they hold the email or mobile on their
 * profile with a six-digit code, and the service then releases the card's escrowed unlock code
 * to the agent (never to a page), which sets the holder's new passcode on the card. Each step is
 * audited with its outcome; refusals name what is wrong in words for the holder.
 *
 * 1. startSelfUnlock: the card's serial (read by the agent) → a code sent, an attempt token.
 * 2. checkSelfUnlockCode: the attempt token and the code → a release ticket.
 * 3. releaseSelfUnlockCode: the agent, with the ticket and the card in the reader → the unlock code.
 * 4. completeSelfUnlock: the agent set the passcode → the card is active again.
 * A card pulled out between 3 and 4 stays locked, and the ticket can be used again.
 * Over 400 lines because the four steps share their tickets, throttling and audited refusals.
 */
export type SelfUnlockSettings = {
  sealer: Sealer;
  /** Email domains a code may go to (CAREID_UNLOCK_EMAIL_DOMAINS). */
  emailDomains: string[];
  /** Whether text messages can be sent (GOV.UK Notify is configured, or the demo folder). */
  smsAvailable: boolean;
};

export const selfUnlockRules = {
  codeMinutes: 15,
  wrongTries: 3,
  ticketMinutes: 10,
  /** A ticket's unlock code may be released again after a card pulled mid-unlock, up to this. */
  releases: 3,
};

export type SelfUnlockReason =
  | "unknown-card"
  | "card-withdrawn"
  | "card-expired"
  | "card-not-issued"
  | "profile-closed"
  | "no-contact"
  | "too-many-requests"
  | "attempt-unknown"
  | "code-wrong"
  | "code-expired"
  | "code-used"
  | "tries-used"
  | "ticket-refused"
  | "other-card";

/** A refusal of the journey, with the reason a page is chosen by. */
export class SelfUnlockRefusal extends DomainError {
  readonly reason: SelfUnlockReason;
  readonly retryAt: Date | undefined;
  constructor(reason: SelfUnlockReason, message: string, retryAt?: Date) {
    super(`self-unlock-${reason}`, message);
    this.reason = reason;
    this.retryAt = retryAt;
  }
}

export type StartedUnlock = {
  token: string;
  cardSerial: string;
  channel: "email" | "sms";
  maskedRecipient: string;
  messageId: string;
  expiresAt: Date;
};

export async function startSelfUnlock(
  queryable: Queryable,
  settings: SelfUnlockSettings,
  actor: Actor,
  request: { cardSerial: unknown; channel?: "email" | "sms" },
  now = new Date(),
): Promise<StartedUnlock> {
  const cardSerial = checkCardSerial(request.cardSerial);
  return refusalsAudited(queryable, actor, cardSerial, "start", async () => {
    await throttle(queryable, actor, [{ limit: "selfUnlockCodesPerCard", subject: cardSerial }], now);
    const found = await inTransaction(queryable, (tx) => unlockableCard(tx, cardSerial, now));
    await throttle(
      queryable,
      actor,
      [{ limit: "selfUnlockCodesPerPerson", subject: found.holder, person: found.holder }],
      now,
    );
    return inTransaction(queryable, async (tx) => {
      const { holder, person } = await unlockableCard(tx, cardSerial, now);
      const contact = contactFor(person, settings, request.channel);
      const token = randomBytes(32).toString("base64url");
      const code = String(randomInt(1_000_000)).padStart(6, "0");
      const expiresAt = new Date(now.getTime() + selfUnlockRules.codeMinutes * 60_000);
      const messageId = await queueMessage(
        tx,
        settings.sealer,
        {
          channel: contact.channel,
          to: contact.to,
          template: "unlock-code",
          personalisation: { code, minutes: String(selfUnlockRules.codeMinutes) },
        },
        now,
      );
      await tx
        .insertInto("smartcard_self_unlocks")
        .values({
          token_digest: digestOf(token),
          card_serial: cardSerial,
          holder,
          channel: contact.channel,
          message_id: messageId,
          code_digest: codeDigest(token, code),
          expires_at: expiresAt,
        })
        .execute();
      const masked = (
        await tx
          .selectFrom("message_outbox")
          .select("masked_recipient")
          .where("id", "=", messageId)
          .executeTakeFirstOrThrow()
      ).masked_recipient;
      await recordEvent(tx, actor, {
        action: "smartcard.self-unlock-code-sent",
        subject: { type: "smartcard", id: cardSerial },
        after: {
          holder,
          channel: contact.channel,
          to: masked,
          message: messageId,
          expiresAt: expiresAt.toISOString(),
        },
      });
      return { token, cardSerial, channel: contact.channel, maskedRecipient: masked, messageId, expiresAt };
    });
  });
}

/** The code the holder received, against the attempt their browser holds: a release ticket if right. */
export async function checkSelfUnlockCode(
  queryable: Queryable,
  actor: Actor,
  request: { token: unknown; code: unknown },
  now = new Date(),
): Promise<{ ticket: string; cardSerial: string }> {
  const token = typeof request.token === "string" ? request.token : "";
  const code = typeof request.code === "string" ? request.code.replace(/\s/g, "") : "";
  const outcome = await inTransaction(queryable, async (tx) => {
    const attempt = await tx
      .selectFrom("smartcard_self_unlocks")
      .selectAll()
      .where("token_digest", "=", digestOf(token))
      .forUpdate()
      .executeTakeFirst();
    if (!attempt)
      return refusal("attempt-unknown", "This unlock has not been started here. Start again.", "(unknown)");
    const subject = { type: "smartcard", id: attempt.card_serial };
    if (attempt.verified_at)
      return refusal("code-used", "This code has been used already. Start again.", attempt.card_serial);
    if (attempt.expires_at < now)
      return refusal(
        "code-expired",
        "This code has expired. Start again to get a new one.",
        attempt.card_serial,
      );
    if (attempt.wrong_tries >= selfUnlockRules.wrongTries)
      return refusal(
        "tries-used",
        "The code was entered wrongly too many times. Start again.",
        attempt.card_serial,
      );
    if (!/^\d{6}$/.test(code) || !safeEqual(codeDigest(token, code), attempt.code_digest)) {
      const tries = attempt.wrong_tries + 1;
      await tx
        .updateTable("smartcard_self_unlocks")
        .set({ wrong_tries: tries })
        .where("token_digest", "=", attempt.token_digest)
        .execute();
      const left = selfUnlockRules.wrongTries - tries;
      await recordEvent(tx, actor, {
        action: "smartcard.self-unlock-code-wrong",
        subject,
        after: { holder: attempt.holder, triesLeft: left },
      });
      return {
        refusal: new SelfUnlockRefusal(
          left > 0 ? "code-wrong" : "tries-used",
          left > 0
            ? `The code is not right. You can try ${left} more time${left === 1 ? "" : "s"}.`
            : "The code was entered wrongly too many times. Start again.",
        ),
      };
    }
    const ticket = randomBytes(32).toString("base64url");
    const ticketExpiresAt = new Date(now.getTime() + selfUnlockRules.ticketMinutes * 60_000);
    await tx
      .updateTable("smartcard_self_unlocks")
      .set({ verified_at: now, ticket_digest: digestOf(ticket), ticket_expires_at: ticketExpiresAt })
      .where("token_digest", "=", attempt.token_digest)
      .execute();
    await recordEvent(tx, actor, {
      action: "smartcard.self-unlock-code-accepted",
      subject,
      after: { holder: attempt.holder, channel: attempt.channel },
    });
    return { ticket, cardSerial: attempt.card_serial };
  });
  if ("refusal" in outcome) {
    if (outcome.audit) await auditRefusal(queryable, actor, outcome.audit, "check-code", outcome.refusal);
    throw outcome.refusal;
  }
  return outcome;
}

/** To the agent only: the card's escrowed unlock code, for the card a verified attempt was for. */
export async function releaseSelfUnlockCode(
  queryable: Queryable,
  sealer: Sealer,
  actor: Actor,
  request: { ticket: unknown; cardSerial: unknown },
  now = new Date(),
): Promise<{ unlockCode: string }> {
  const cardSerial = checkCardSerial(request.cardSerial);
  return refusalsAudited(queryable, actor, cardSerial, "release", () =>
    inTransaction(queryable, async (tx) => {
      const attempt = await ticketed(tx, request.ticket, cardSerial, now);
      if (attempt.releases >= selfUnlockRules.releases)
        throw new SelfUnlockRefusal("ticket-refused", "This unlock has been tried too often. Start again.");
      await unlockableCard(tx, cardSerial, now);
      await tx
        .updateTable("smartcard_self_unlocks")
        .set({ releases: attempt.releases + 1 })
        .where("token_digest", "=", attempt.token_digest)
        .execute();
      const card = await tx
        .selectFrom("smartcards")
        .select("sealed_unlock_code")
        .where("serial", "=", cardSerial)
        .executeTakeFirstOrThrow();
      await recordEvent(tx, actor, {
        action: "smartcard.self-unlock-code-released",
        subject: { type: "smartcard", id: cardSerial },
        after: { holder: attempt.holder, release: attempt.releases + 1 },
      });
      return { unlockCode: sealer.open(card.sealed_unlock_code) };
    }),
  );
}

/** The agent set the new passcode: the card is active again, and the ticket is spent. */
export async function completeSelfUnlock(
  queryable: Queryable,
  actor: Actor,
  request: { ticket: unknown; cardSerial: unknown },
  now = new Date(),
): Promise<{ cardSerial: string; status: "active" }> {
  const cardSerial = checkCardSerial(request.cardSerial);
  return refusalsAudited(queryable, actor, cardSerial, "complete", () =>
    inTransaction(queryable, async (tx) => {
      const attempt = await ticketed(tx, request.ticket, cardSerial, now);
      if (attempt.releases === 0)
        throw new SelfUnlockRefusal("ticket-refused", "The unlock code was not released for this unlock.");
      const { card } = await unlockableCard(tx, cardSerial, now);
      await tx
        .updateTable("smartcard_self_unlocks")
        .set({ completed_at: now })
        .where("token_digest", "=", attempt.token_digest)
        .execute();
      await tx
        .updateTable("smartcards")
        .set({ status: "active", status_changed_at: now })
        .where("serial", "=", cardSerial)
        .execute();
      await recordEvent(tx, actor, {
        action: "smartcard.self-unlocked",
        subject: { type: "smartcard", id: cardSerial },
        before: { status: card.status },
        after: { status: "active", holder: attempt.holder, channel: attempt.channel },
      });
      return { cardSerial, status: "active" as const };
    }),
  );
}

async function ticketed(tx: Tx, ticket: unknown, cardSerial: string, now: Date) {
  const attempt =
    typeof ticket === "string" && ticket.length > 0
      ? await tx
          .selectFrom("smartcard_self_unlocks")
          .selectAll()
          .where("ticket_digest", "=", digestOf(ticket))
          .forUpdate()
          .executeTakeFirst()
      : undefined;
  if (!attempt || attempt.completed_at || !attempt.ticket_expires_at || attempt.ticket_expires_at < now)
    throw new SelfUnlockRefusal("ticket-refused", "This unlock is not valid any more. Start again.");
  if (attempt.card_serial !== cardSerial)
    throw new SelfUnlockRefusal(
      "other-card",
      "This unlock is for another smartcard. Put the card you asked to unlock in the reader.",
    );
  return attempt;
}

/** The card and its holder, if a self-service unlock may go ahead; the refusal otherwise. */
async function unlockableCard(tx: Tx, cardSerial: string, now: Date) {
  const card = await tx
    .selectFrom("smartcards")
    .selectAll()
    .where("serial", "=", cardSerial)
    .forUpdate()
    .executeTakeFirst();
  if (!card)
    throw new SelfUnlockRefusal(
      "unknown-card",
      "This smartcard is not known to the Care Identity Service. Ask your Registration Authority (RA).",
    );
  if (["cancelled", "lost", "stolen"].includes(card.status))
    throw new SelfUnlockRefusal(
      "card-withdrawn",
      `This smartcard has been ${card.status === "cancelled" ? "cancelled" : `reported ${card.status}`}. It cannot be unlocked: ask your RA for a new card.`,
    );
  if (card.status !== "active" && card.status !== "locked")
    throw new SelfUnlockRefusal(
      "card-expired",
      "This smartcard's certificates have expired. Ask your RA to repair it.",
    );
  if ((await liveCertificates(tx, cardSerial, now)).length === 0)
    throw new SelfUnlockRefusal(
      "card-expired",
      "This smartcard's certificates have expired. Ask your RA to repair it.",
    );
  const person = await findPersonSummary(tx, card.holder);
  if (!person) throw new Error(`The holder ${card.holder} of a card has no profile`);
  if (person.status !== "active")
    throw new SelfUnlockRefusal(
      "profile-closed",
      "The Care Identity profile this smartcard belongs to is not active. Ask your RA.",
    );
  return { card, holder: card.holder, person };
}

function contactFor(
  person: { email: string | null; mobile: string | null },
  settings: SelfUnlockSettings,
  preferred?: "email" | "sms",
): { channel: "email" | "sms"; to: string } {
  const domain = person.email?.split("@")[1]?.toLowerCase();
  const email = person.email && domain && settings.emailDomains.includes(domain) ? person.email : undefined;
  const mobile = settings.smsAvailable && person.mobile ? person.mobile : undefined;
  if (mobile && (preferred === "sms" || !email)) return { channel: "sms", to: mobile };
  if (email) return { channel: "email", to: email };
  throw new SelfUnlockRefusal(
    "no-contact",
    `Your profile has no email address at ${settings.emailDomains.join(" or ")} and no mobile number we can send a code to. Ask your RA to add one, or to unlock your card.`,
  );
}

async function throttle(
  queryable: Queryable,
  actor: Actor,
  counters: Parameters<typeof takeAttempt>[2],
  now: Date,
): Promise<void> {
  const attempt = await takeAttempt(queryable, actor, counters, now);
  if (!attempt.allowed)
    throw new SelfUnlockRefusal(
      "too-many-requests",
      "Too many unlock codes have been asked for this smartcard or person today. Try again tomorrow, or ask your RA.",
      attempt.retryAt,
    );
}

type Outcome<T> = T | { refusal: SelfUnlockRefusal; audit?: string };

function refusal(reason: SelfUnlockReason, message: string, cardSerial: string): Outcome<never> {
  return { refusal: new SelfUnlockRefusal(reason, message), audit: cardSerial };
}

/** Runs a step; a refusal is recorded after its transaction rolled back, then goes on to the caller. */
async function refusalsAudited<T>(
  queryable: Queryable,
  actor: Actor,
  cardSerial: string,
  step: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SelfUnlockRefusal) await auditRefusal(queryable, actor, cardSerial, step, error);
    throw error;
  }
}

async function auditRefusal(
  queryable: Queryable,
  actor: Actor,
  cardSerial: string,
  step: string,
  error: SelfUnlockRefusal,
): Promise<void> {
  await inTransaction(queryable, (tx) =>
    recordEvent(tx, actor, {
      action: "smartcard.self-unlock-refused",
      subject: { type: "smartcard", id: cardSerial },
      after: { step, reason: error.reason },
    }),
  );
}

function digestOf(secret: string): string {
  return createHash("sha256").update(secret).digest("base64url");
}

/** Keyed by the attempt token, which is not stored: the table alone cannot be searched for the code. */
function codeDigest(token: string, code: string): string {
  return createHmac("sha256", token).update(code).digest("base64url");
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
