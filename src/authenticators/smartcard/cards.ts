import { randomInt } from "node:crypto";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { ConflictError, DomainError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { findPersonSummary } from "../../people/people.ts";
import type { CertificateAuthority } from "../../pki/certificate-authority.ts";
import { serialKey, toPem, type x509 } from "../../pki/engine.ts";
import { issueCardCertificate } from "../../pki/issue.ts";
import { revokeCertificates } from "../../pki/revocation.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import type { RevocationReason, SmartcardStatus } from "../../store/schema.ts";
import { auditingRefusal, authoriseCardAction } from "./authority.ts";
import { readCardRequest } from "./certificate-input.ts";
import { type OrderKind, type TakenOrder, takeOrder } from "./orders.ts";
import { readPresenceKey } from "./presence-key.ts";
import { type SmartcardProof, verifySmartcardAuthentication } from "./verification.ts";

/**
 * A smartcard's life: issued to a person against an RA's order with keys made on the card,
 * renewed before expiry, locked (reported by the agent), unlocked with the escrowed unlock code
 * (the card's PKCS#11 SO PIN), and cancelled or reported lost or stolen, which revokes its
 * certificates in the same transaction.
 */
export type CardIssue = {
  orderCode: unknown;
  cardSerial: unknown;
  cardType?: unknown;
  authenticationCsr: unknown;
  signingCsr: unknown;
  /** The card's presence key (presence-key.ts), which lets it report itself locked. */
  presenceKey?: unknown;
};

export type IssuedCard = {
  cardSerial: string;
  holder: string;
  status: SmartcardStatus;
  certificates: { authentication: string; signing: string };
  chain: string[];
  notAfter: string;
};

export type CardSettings = { authority: CertificateAuthority; sealer: Sealer; lifetimeDays: number };

/** openCryptoki's software token takes SO PINs of 4 to 8 characters; real cards take 8. */
const unlockCodeDigits = 8;

export async function issueCard(
  queryable: Queryable,
  settings: CardSettings,
  request: CardIssue,
  now = new Date(),
): Promise<IssuedCard & { unlockCode: string }> {
  const cardSerial = checkCardSerial(request.cardSerial);
  const cardType = checkCardType(request.cardType);
  const keys = await readKeyPair(request);
  const presenceKey = readPresenceKey(request.presenceKey);
  return withOrder(queryable, request.orderCode, "issue", null, async (tx, order) => {
    const existing = await tx
      .selectFrom("smartcards")
      .select("status")
      .where("serial", "=", cardSerial)
      .forUpdate()
      .executeTakeFirst();
    if (existing && !isFinished(existing.status))
      throw new ConflictError(
        `Card ${cardSerial} is already issued (${existing.status}); cancel it first`,
        "cardSerial",
      );
    const person = await findPersonSummary(tx, order.holder);
    if (person?.status !== "active")
      throw new DomainError(
        "person-not-active",
        `Person ${order.holder} is not active: no card can be issued`,
      );
    const unlockCode = newUnlockCode();
    const card = {
      holder: order.holder,
      card_type: cardType,
      status: "active" as const,
      sealed_unlock_code: settings.sealer.seal(unlockCode),
      issued_at: now,
      status_changed_at: now,
      presence_key: presenceKey,
    };
    // A cleared card that comes back keeps its serial: the finished record gives way to the new one.
    await tx
      .insertInto("smartcards")
      .values({ serial: cardSerial, ...card })
      .onConflict((conflict) => conflict.column("serial").doUpdateSet(card))
      .execute();
    const issued = await issueCertificates(tx, settings, order.holder, cardSerial, keys, now);
    await recordEvent(tx, order.actor, {
      action: "smartcard.issued",
      subject: { type: "smartcard", id: cardSerial },
      after: { holder: order.holder, cardType, certificates: issued.serials, reissued: Boolean(existing) },
    });
    return { ...issued.card, unlockCode };
  });
}

export type CardRenewal = CardIssue & { proof: SmartcardProof };

/** New keys on the card, new certificates; the card proves it is present with its current key. */
export async function renewCard(
  queryable: Queryable,
  settings: CardSettings,
  request: CardRenewal,
  now = new Date(),
): Promise<IssuedCard> {
  const cardSerial = checkCardSerial(request.cardSerial);
  const keys = await readKeyPair(request);
  const proof = await verifySmartcardAuthentication(
    queryable,
    { kind: "system", id: "smartcard-renewal", source: "AGENT" },
    request.proof,
    now,
  );
  if (!proof.ok) throw new DomainError("smartcard-refused", proof.message);
  if (proof.cardSerial !== cardSerial)
    throw new DomainError("smartcard-refused", "The proof was signed by another card");
  return withOrder(queryable, request.orderCode, "renew", cardSerial, async (tx, order) => {
    const previous = await liveCertificates(tx, cardSerial);
    const revoked = await revokeCertificates(tx, previous, "superseded", now);
    const issued = await issueCertificates(tx, settings, order.holder, cardSerial, keys, now);
    await recordEvent(tx, order.actor, {
      action: "smartcard.renewed",
      subject: { type: "smartcard", id: cardSerial },
      after: { holder: order.holder, certificates: issued.serials, superseded: revoked },
    });
    return issued.card;
  });
}

/** Releases the card's unlock code, once per unlock order, to the agent that resets the passcode. */
export async function releaseUnlockCode(
  queryable: Queryable,
  sealer: Sealer,
  request: { orderCode: unknown; cardSerial: unknown },
  now = new Date(),
): Promise<{ cardSerial: string; unlockCode: string; status: SmartcardStatus }> {
  const cardSerial = checkCardSerial(request.cardSerial);
  return withOrder(queryable, request.orderCode, "unlock", cardSerial, async (tx, order) => {
    const card = await lockedCard(tx, cardSerial);
    if (!["active", "locked"].includes(card.status))
      throw new DomainError(
        "card-not-unlockable",
        `Card ${cardSerial} is ${card.status}: it cannot be unlocked`,
      );
    if ((await liveCertificates(tx, cardSerial, now)).length === 0)
      throw new DomainError(
        "card-not-unlockable",
        `Card ${cardSerial}'s certificates have expired: it needs a repair`,
      );
    await setStatus(tx, cardSerial, "active", now);
    await recordEvent(tx, order.actor, {
      action: "smartcard.unlock-code-released",
      subject: { type: "smartcard", id: cardSerial },
      before: { status: card.status },
      after: { status: "active", holder: card.holder },
    });
    return { cardSerial, unlockCode: sealer.open(card.sealed_unlock_code), status: "active" as const };
  });
}

/** The agent reports a card the card itself locked after too many wrong passcodes. */
export async function reportCardLocked(
  queryable: Queryable,
  actor: Actor,
  cardSerialInput: unknown,
  now = new Date(),
): Promise<{ cardSerial: string; status: SmartcardStatus }> {
  const cardSerial = checkCardSerial(cardSerialInput);
  return inTransaction(queryable, async (tx) => {
    const card = await lockedCard(tx, cardSerial);
    if (card.status === "locked") return { cardSerial, status: card.status };
    if (card.status !== "active")
      throw new DomainError(
        "card-not-active",
        `Card ${cardSerial} is ${card.status}; only an active card can lock`,
      );
    await setStatus(tx, cardSerial, "locked", now);
    await recordEvent(tx, actor, {
      action: "smartcard.locked",
      subject: { type: "smartcard", id: cardSerial },
      before: { status: card.status },
      after: { status: "locked", holder: card.holder },
    });
    return { cardSerial, status: "locked" as const };
  });
}

export type Withdrawal = "cancelled" | "lost" | "stolen";
const revocationReasonOf: Record<Withdrawal, RevocationReason> = {
  cancelled: "cessationOfOperation",
  lost: "keyCompromise",
  stolen: "keyCompromise",
};

/**
 * Cancels a card or records it lost or stolen: its certificates are revoked in the same
 * transaction, so the CRL and OCSP say so from the moment it commits. The holder may report
 * their own card lost or stolen; cancelling needs an RA.
 */
export async function withdrawCard(
  queryable: Queryable,
  actor: Actor,
  request: { cardSerial: unknown; status: Withdrawal; reason?: string },
  now = new Date(),
): Promise<{ cardSerial: string; status: SmartcardStatus; revoked: string[] }> {
  const cardSerial = checkCardSerial(request.cardSerial);
  const attempt = { action: request.status, subject: { type: "smartcard", id: cardSerial } };
  return auditingRefusal(queryable, actor, attempt, () =>
    inTransaction(queryable, async (tx) => {
      const card = await lockedCard(tx, cardSerial);
      const ownReport = actor.kind === "person" && actor.id === card.holder && request.status !== "cancelled";
      if (!ownReport) await authoriseCardAction(tx, actor, "smartcard.cancel", card.holder);
      if (["cancelled", "lost", "stolen"].includes(card.status))
        throw new ConflictError(`Card ${cardSerial} is already ${card.status}`);
      await setStatus(tx, cardSerial, request.status, now);
      const revoked = await revokeCertificates(
        tx,
        await liveCertificates(tx, cardSerial),
        revocationReasonOf[request.status],
        now,
      );
      await recordEvent(tx, actor, {
        action: `smartcard.${request.status}`,
        subject: { type: "smartcard", id: cardSerial },
        before: { status: card.status },
        after: { status: request.status, holder: card.holder, revoked },
        reason: request.reason,
      });
      return { cardSerial, status: request.status, revoked };
    }),
  );
}

/**
 * Runs the work in one transaction with the order spent (or, with another `take`, only
 * checked); an order refused is audited after the rollback.
 */
export async function withOrder<T, O extends TakenOrder = TakenOrder>(
  queryable: Queryable,
  code: unknown,
  kind: OrderKind,
  cardSerial: string | null,
  work: (tx: Tx, order: O) => Promise<T>,
  take: (
    tx: Tx,
    code: unknown,
    kind: OrderKind,
    cardSerial: string | null,
  ) => Promise<O> = takeOrder as never,
): Promise<T> {
  try {
    return await inTransaction(queryable, async (tx) => work(tx, await take(tx, code, kind, cardSerial)));
  } catch (error) {
    if (error instanceof DomainError && error.code === "order-refused")
      await inTransaction(queryable, (tx) =>
        recordEvent(
          tx,
          { kind: "system", id: "smartcard-agent", source: "AGENT" },
          {
            action: "smartcard.order-refused",
            subject: { type: "smartcard", id: cardSerial ?? "(new card)" },
            after: { kind, message: error.message },
          },
        ),
      );
    throw error;
  }
}

export type KeyPair = { authentication: x509.PublicKey; signing: x509.PublicKey };

export async function readKeyPair(request: CardIssue): Promise<KeyPair> {
  const authentication = await readCardRequest("authenticationCsr", request.authenticationCsr);
  const signing = await readCardRequest("signingCsr", request.signingCsr);
  if (Buffer.from(authentication.publicKey.rawData).equals(Buffer.from(signing.publicKey.rawData)))
    throw InvalidInputError.field(
      "signingCsr",
      "carries the same key as authenticationCsr; each needs its own key",
    );
  return { authentication: authentication.publicKey, signing: signing.publicKey };
}

export async function issueCertificates(
  tx: Tx,
  settings: CardSettings,
  holder: string,
  cardSerial: string,
  keys: KeyPair,
  now: Date,
): Promise<{ card: IssuedCard; serials: string[] }> {
  const issue = (profile: "card-authentication" | "card-signing", publicKey: x509.PublicKey) =>
    issueCardCertificate(
      tx,
      settings.authority,
      { profile, holder, cardSerial, publicKey, lifetimeDays: settings.lifetimeDays },
      now,
    );
  const authentication = await issue("card-authentication", keys.authentication);
  const signing = await issue("card-signing", keys.signing);
  return {
    serials: [authentication, signing].map((certificate) => serialKey(certificate.serialNumber)),
    card: {
      cardSerial,
      holder,
      status: "active",
      certificates: { authentication: toPem(authentication.rawData), signing: toPem(signing.rawData) },
      chain: [toPem(settings.authority.issuing.rawData), toPem(settings.authority.root.rawData)],
      notAfter: authentication.notAfter.toISOString(),
    },
  };
}

/** Serials of the card's certificates not yet revoked (and, given a time, not yet expired). */
export async function liveCertificates(tx: Tx, cardSerial: string, validAt?: Date): Promise<string[]> {
  let query = tx
    .selectFrom("pki_certificates")
    .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
    .select("pki_certificates.serial")
    .where("pki_certificates.card_serial", "=", cardSerial)
    .where("pki_revocations.serial", "is", null);
  if (validAt) query = query.where("pki_certificates.not_after", ">", validAt);
  return (await query.execute()).map((row) => row.serial);
}

export async function lockedCard(tx: Tx, cardSerial: string) {
  const card = await tx
    .selectFrom("smartcards")
    .selectAll()
    .where("serial", "=", cardSerial)
    .forUpdate()
    .executeTakeFirst();
  if (!card) throw new NotFoundError("smartcard", `There is no card ${cardSerial}`);
  return card;
}

export async function setStatus(
  tx: Tx,
  cardSerial: string,
  status: SmartcardStatus,
  now: Date,
): Promise<void> {
  await tx
    .updateTable("smartcards")
    .set({ status, status_changed_at: now })
    .where("serial", "=", cardSerial)
    .execute();
}

function isFinished(status: SmartcardStatus): boolean {
  return ["cancelled", "lost", "stolen", "expired", "cleared"].includes(status);
}

export function checkCardSerial(value: unknown): string {
  if (typeof value !== "string" || !/^[A-Za-z0-9._-]{1,32}$/.test(value.trim()))
    throw InvalidInputError.field(
      "cardSerial",
      "must be the card's serial number: 1 to 32 letters, digits, . _ or -",
    );
  return value.trim();
}

function checkCardType(value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || !/^[A-Za-z0-9 ._-]{1,40}$/.test(value))
    throw InvalidInputError.field("cardType", "must be up to 40 letters, digits, spaces, . _ or -");
  return value;
}

function newUnlockCode(): string {
  return Array.from({ length: unlockCodeDigits }, () => randomInt(10)).join("");
}
