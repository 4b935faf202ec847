import { createPrivateKey, createSign, generateKeyPair, type KeyObject } from "node:crypto";
import { promisify } from "node:util";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError } from "../errors.ts";
import { findPersonSummary } from "../people/people.ts";
import type { CertificateAuthority } from "../pki/certificate-authority.ts";
import { serialKey, x509 } from "../pki/engine.ts";
import { issueCardCertificate } from "../pki/issue.ts";
import { revokeCertificates } from "../pki/revocation.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import type { SigningToken } from "./token-signing-keys.ts";

/**
 * The signing keys the remote signing service holds for people without a card: RSA-2048, one
 * in use per person, made on first use with a certificate from our issuing CA (profile
 * remote-signing). The private key is generated in the signing token when one is configured
 * (CAREID_SIGNING_PKCS11_*) and never leaves it, else made here and sealed under the master key.
 * A key made before a token was configured stays sealed and in use until it is replaced.
 * Closing the profile revokes it.
 */
export type RemoteSigningKey = {
  /** RSASSA-PKCS1-v1_5 with SHA-256 over each payload's bytes (a canonical SignedInfo). */
  sign(payloads: Buffer[]): Buffer[];
  certificate: Uint8Array;
  serial: string;
};
export type KeySettings = {
  authority: CertificateAuthority;
  sealer: Sealer;
  lifetimeDays: number;
  token?: SigningToken;
};

const makeKeyPair = promisify(generateKeyPair);

/** A new key pair, where configuration says keys are kept, and what the row records of it. */
async function newKey(settings: KeySettings) {
  if (settings.token) {
    const token = settings.token;
    const made = token.generate();
    return {
      publicKeySpki: made.publicKeySpki,
      stored: { sealed_private_key: null, token_key_label: made.label },
      sign: (payloads: Buffer[]) => token.sign(made.label, payloads),
      discard: () => token.destroy(made.label),
    };
  }
  const made = await makeKeyPair("rsa", { modulusLength: 2048 });
  const pem = made.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return {
    publicKeySpki: made.publicKey.export({ type: "spki", format: "der" }),
    stored: { sealed_private_key: settings.sealer.seal(pem), token_key_label: null },
    sign: (payloads: Buffer[]) => signInProcess(made.privateKey, payloads),
    discard: () => {},
  };
}

export async function remoteSigningKeyOf(
  queryable: Queryable,
  actor: Actor,
  settings: KeySettings,
  holder: string,
): Promise<RemoteSigningKey> {
  const current = await currentKey(queryable, settings, holder);
  if (current) return current;
  // Made outside the transaction (it takes a while); thrown away if another node won the race.
  const made = await newKey(settings);
  // Kept only once the row naming it is committed; a token key otherwise is destroyed again.
  let inserted = false;
  let kept = false;
  try {
    const key = await inTransaction(queryable, async (tx) => {
      const person = await findPersonSummary(tx, holder, { forUpdate: true });
      if (person?.status !== "active")
        throw new ConflictError(
          `holder: profile ${holder} is not active: no signing key is issued`,
          "holder",
        );
      const raced = await currentKey(tx, settings, holder);
      if (raced) return raced;
      // Any key still marked in use has expired: it steps aside for the new one.
      await tx
        .updateTable("remote_signing_keys")
        .set({ revoked_at: new Date() })
        .where("holder", "=", holder)
        .where("revoked_at", "is", null)
        .execute();
      const certificate = await issueCardCertificate(tx, settings.authority, {
        profile: "remote-signing",
        holder,
        cardSerial: null,
        publicKey: new x509.PublicKey(new Uint8Array(made.publicKeySpki)),
        lifetimeDays: settings.lifetimeDays,
      });
      const serial = serialKey(certificate.serialNumber);
      await tx
        .insertInto("remote_signing_keys")
        .values({ holder, certificate_serial: serial, ...made.stored, revoked_at: null })
        .execute();
      await recordEvent(tx, actor, {
        action: "signing.key-issued",
        subject: { type: "person", id: holder },
        after: {
          certificate: serial,
          notAfter: certificate.notAfter,
          heldIn: made.stored.token_key_label ? "pkcs11" : "database",
        },
      });
      inserted = true;
      return { sign: made.sign, certificate: new Uint8Array(certificate.rawData), serial };
    });
    kept = inserted;
    return key;
  } finally {
    if (!kept) made.discard();
  }
}

async function currentKey(
  queryable: Queryable,
  settings: KeySettings,
  holder: string,
): Promise<RemoteSigningKey | undefined> {
  const row = await queryable
    .selectFrom("remote_signing_keys")
    .innerJoin("pki_certificates", "pki_certificates.serial", "remote_signing_keys.certificate_serial")
    .select([
      "remote_signing_keys.sealed_private_key",
      "remote_signing_keys.token_key_label",
      "pki_certificates.certificate",
      "pki_certificates.serial",
      "pki_certificates.not_after",
    ])
    .where("remote_signing_keys.holder", "=", holder)
    .where("remote_signing_keys.revoked_at", "is", null)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.not_after.getTime() < Date.now()) return undefined;
  const found = { certificate: new Uint8Array(row.certificate), serial: row.serial };
  const { token_key_label: label, sealed_private_key: sealed } = row;
  if (label !== null) {
    const token = settings.token;
    if (!token)
      throw new Error(
        `The remote signing key of ${holder} is held in a PKCS#11 token: set CAREID_SIGNING_PKCS11_MODULE, CAREID_SIGNING_PKCS11_TOKEN and CAREID_SIGNING_PKCS11_PIN`,
      );
    return { ...found, sign: (payloads) => token.sign(label, payloads) };
  }
  const privateKey = createPrivateKey(settings.sealer.open(sealed ?? ""));
  return { ...found, sign: (payloads) => signInProcess(privateKey, payloads) };
}

function signInProcess(privateKey: KeyObject, payloads: Buffer[]): Buffer[] {
  return payloads.map((payload) => createSign("sha256").update(payload).sign(privateKey));
}

/** Revokes a person's remote signing keys and their certificates, in the caller's transaction. */
export async function revokeRemoteSigningKeysOf(tx: Tx, holder: string, at = new Date()): Promise<string[]> {
  const rows = await tx
    .updateTable("remote_signing_keys")
    .set({ revoked_at: at })
    .where("holder", "=", holder)
    .where("revoked_at", "is", null)
    .returning("certificate_serial")
    .execute();
  return revokeCertificates(
    tx,
    rows.map((row) => row.certificate_serial),
    "affiliationChanged",
    at,
  );
}
