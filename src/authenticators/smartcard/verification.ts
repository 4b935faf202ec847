import { createPublicKey, verify } from "node:crypto";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { serialKey, x509 } from "../../pki/engine.ts";
import { uidOid } from "../../pki/profiles.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import { readCertificate } from "./certificate-input.ts";
import { spendChallenge } from "./challenges.ts";

/**
 * Is this the holder's card, present and in good standing? The sign-in, the mutual-TLS path
 * and renewal ask here. Checks run in a fixed order and the first failure is the answer; every
 * refusal is audited with its reason.
 */
export type SmartcardProof = {
  /** The card's authentication certificate first (PEM or base64 DER); further entries are ignored. */
  certificateChain: unknown;
  challenge: unknown;
  /** base64url (or base64) of the card's signature over the challenge's UTF-8 bytes, SHA-256. */
  signature: unknown;
  /** The person the caller expects, when it already knows. */
  expectedHolder?: string;
};

export type SmartcardRefusal =
  | "malformed"
  | "unknown-ca"
  | "unknown-certificate"
  | "not-an-authentication-certificate"
  | "not-yet-valid"
  | "expired"
  | "revoked"
  | "unknown-challenge"
  | "replayed-challenge"
  | "expired-challenge"
  | "bad-signature"
  | "card-cancelled"
  | "card-lost"
  | "card-stolen"
  | "card-locked"
  | "card-expired"
  | "wrong-holder"
  | "holder-not-active";

export type SmartcardVerdict =
  | { ok: true; holder: string; cardSerial: string; certificateSerial: string }
  | { ok: false; reason: SmartcardRefusal; message: string };

class Refusal extends Error {
  readonly reason: SmartcardRefusal;
  readonly certificateSerial: string | undefined;
  constructor(reason: SmartcardRefusal, certificateSerial?: string) {
    super(messages[reason]);
    this.reason = reason;
    this.certificateSerial = certificateSerial;
  }
}

const messages: Record<SmartcardRefusal, string> = {
  malformed: "The card's certificate or signature could not be read.",
  "unknown-ca": "The card's certificate was not issued by the Care Identity Service.",
  "unknown-certificate": "The card's certificate is not one the Care Identity Service issued.",
  "not-an-authentication-certificate":
    "This is the card's signing certificate, not its authentication certificate.",
  "not-yet-valid": "The card's certificate is not valid yet.",
  expired: "The card's certificate has expired. Ask your registration authority to renew the card.",
  revoked: "The card's certificate has been revoked.",
  "unknown-challenge": "The sign-in challenge is not one this service gave. Start again.",
  "replayed-challenge": "The sign-in challenge has been used already. Start again.",
  "expired-challenge": "The sign-in challenge has expired. Start again.",
  "bad-signature": "The card's signature does not match the sign-in challenge.",
  "card-cancelled": "This card has been cancelled.",
  "card-lost": "This card has been reported lost.",
  "card-stolen": "This card has been reported stolen.",
  "card-locked":
    "This card is locked. Ask your registration authority or local smartcard administrator to unlock it.",
  "card-expired": "This card has expired.",
  "wrong-holder": "This card belongs to someone else.",
  "holder-not-active": "The card holder's Care Identity profile is not active.",
};

/** A signature by the card over a challenge this service gave, from a card in good standing. */
export async function verifySmartcardAuthentication(
  queryable: Queryable,
  actor: Actor,
  proof: SmartcardProof,
  now = new Date(),
): Promise<SmartcardVerdict> {
  return verdict(queryable, actor, async (tx) => {
    if (typeof proof.challenge !== "string" || typeof proof.signature !== "string")
      throw new Refusal("malformed");
    const use = await spendChallenge(tx, proof.challenge, now);
    if (use !== "fresh") throw new Refusal(use);
    const accepted = await checkCard(tx, proof.certificateChain, proof.expectedHolder, now);
    if (!signatureHolds(accepted.certificate, proof.challenge, proof.signature))
      throw new Refusal("bad-signature", accepted.certificateSerial);
    return accepted;
  });
}

/** The card's certificate alone, as presented on the mutual-TLS listener (TLS proved the key). */
export async function verifySmartcardCertificate(
  queryable: Queryable,
  actor: Actor,
  presented: { certificateChain: unknown; expectedHolder?: string },
  now = new Date(),
): Promise<SmartcardVerdict> {
  return verdict(queryable, actor, (tx) =>
    checkCard(tx, presented.certificateChain, presented.expectedHolder, now),
  );
}

type Accepted = {
  holder: string;
  cardSerial: string;
  certificateSerial: string;
  certificate: x509.X509Certificate;
};

/**
 * Runs the checks in one transaction; a refusal commits its audit event (and the spent
 * challenge) rather than rolling back, so a replay stays refused.
 */
async function verdict(
  queryable: Queryable,
  actor: Actor,
  check: (tx: Tx) => Promise<Accepted>,
): Promise<SmartcardVerdict> {
  return inTransaction(queryable, async (tx) => {
    try {
      const { holder, cardSerial, certificateSerial } = await check(tx);
      return { ok: true as const, holder, cardSerial, certificateSerial };
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      await recordEvent(tx, actor, {
        action: "smartcard.authentication-refused",
        subject: { type: "smartcard-certificate", id: error.certificateSerial ?? "(unread)" },
        after: { reason: error.reason },
      });
      return { ok: false as const, reason: error.reason, message: error.message };
    }
  });
}

async function checkCard(
  tx: Tx,
  chain: unknown,
  expectedHolder: string | undefined,
  now: Date,
): Promise<Accepted> {
  const first = Array.isArray(chain) ? chain[0] : chain;
  const certificate = typeof first === "string" ? readCertificate(first) : undefined;
  if (!certificate) throw new Refusal("malformed");
  const certificateSerial = serialKey(certificate.serialNumber);
  const refuse = (reason: SmartcardRefusal) => new Refusal(reason, certificateSerial);
  if (!(await issuedByUs(tx, certificate))) throw refuse("unknown-ca");
  const row = await tx
    .selectFrom("pki_certificates")
    .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
    .leftJoin("smartcards", "smartcards.serial", "pki_certificates.card_serial")
    .leftJoin("people", "people.uuid", "smartcards.holder")
    .select([
      "pki_certificates.certificate",
      "pki_certificates.profile",
      "pki_certificates.holder",
      "pki_certificates.card_serial",
      "pki_revocations.revoked_at",
      "smartcards.status as card_status",
      "smartcards.holder as card_holder",
      "people.status as holder_status",
    ])
    .where("pki_certificates.serial", "=", certificateSerial)
    .executeTakeFirst();
  if (!row || !Buffer.from(row.certificate).equals(Buffer.from(certificate.rawData)))
    throw refuse("unknown-certificate");
  if (row.profile !== "card-authentication") throw refuse("not-an-authentication-certificate");
  if (now < certificate.notBefore) throw refuse("not-yet-valid");
  if (now > certificate.notAfter) throw refuse("expired");
  if (row.revoked_at) throw refuse("revoked");
  const cardRefusal = cardRefusals[row.card_status ?? "cancelled"];
  if (cardRefusal) throw refuse(cardRefusal);
  const named = certificate.subjectName.getField(uidOid)[0];
  const holder = row.card_holder ?? "";
  if (
    named !== holder ||
    row.holder !== holder ||
    (expectedHolder !== undefined && expectedHolder !== holder)
  )
    throw refuse("wrong-holder");
  if (row.holder_status !== "active") throw refuse("holder-not-active");
  return { holder, cardSerial: row.card_serial ?? "", certificateSerial, certificate };
}

const cardRefusals: Record<string, SmartcardRefusal | undefined> = {
  cancelled: "card-cancelled",
  lost: "card-lost",
  stolen: "card-stolen",
  locked: "card-locked",
  expired: "card-expired",
};

/** Signed by our issuing CA: its name and its key. Only the issuing CA signs card certificates. */
async function issuedByUs(tx: Tx, certificate: x509.X509Certificate): Promise<boolean> {
  const row = await tx
    .selectFrom("pki_authorities")
    .select("certificate")
    .where("name", "=", "issuing")
    .executeTakeFirst();
  if (!row) return false;
  const issuing = new x509.X509Certificate(row.certificate);
  if (certificate.issuer !== issuing.subject) return false;
  return certificate.verify({ publicKey: issuing.publicKey, signatureOnly: true }).catch(() => false);
}

/** RSA PKCS#1 v1.5 or ECDSA over SHA-256; an EC signature raw (r||s, as PKCS#11 gives it) or DER. */
function signatureHolds(certificate: x509.X509Certificate, challenge: string, signature: string): boolean {
  const key = createPublicKey({
    key: Buffer.from(certificate.publicKey.rawData),
    format: "der",
    type: "spki",
  });
  const bytes = Buffer.from(signature.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  const data = Buffer.from(challenge, "utf8");
  if (bytes.length === 0) return false;
  const encodings =
    key.asymmetricKeyType === "ec" ? (["ieee-p1363", "der"] as const) : ([undefined] as const);
  return encodings.some((dsaEncoding) => {
    try {
      return verify("sha256", data, { key, dsaEncoding }, bytes);
    } catch {
      return false;
    }
  });
}
