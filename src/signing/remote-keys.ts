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

/**
 * The signing keys the remote signing service holds for people without a card: RSA-2048, one
 * in use per person, made on first use with a certificate from our issuing CA (profile
 * remote-signing), the private key sealed under the master key. Closing the profile revokes it.
 */
export type RemoteSigningKey = { privateKey: KeyObject; certificate: Uint8Array; serial: string };
export type KeySettings = { authority: CertificateAuthority; sealer: Sealer; lifetimeDays: number };

const makeKeyPair = promisify(generateKeyPair);

export async function remoteSigningKeyOf(
  queryable: Queryable,
  actor: Actor,
  settings: KeySettings,
  holder: string,
): Promise<RemoteSigningKey> {
  const current = await currentKey(queryable, settings.sealer, holder);
  if (current) return current;
  // Made outside the transaction (it takes a while); thrown away if another node won the race.
  const made = await makeKeyPair("rsa", { modulusLength: 2048 });
  return inTransaction(queryable, async (tx) => {
    const person = await findPersonSummary(tx, holder, { forUpdate: true });
    if (person?.status !== "active")
      throw new ConflictError(`holder: profile ${holder} is not active: no signing key is issued`, "holder");
    const raced = await currentKey(tx, settings.sealer, holder);
    if (raced) return raced;
    // Any key still marked in use has expired: it steps aside for the new one.
    await tx
      .updateTable("remote_signing_keys")
      .set({ revoked_at: new Date() })
      .where("holder", "=", holder)
      .where("revoked_at", "is", null)
      .execute();
    const spki = made.publicKey.export({ type: "spki", format: "der" });
    const certificate = await issueCardCertificate(tx, settings.authority, {
      profile: "remote-signing",
      holder,
      cardSerial: null,
      publicKey: new x509.PublicKey(new Uint8Array(spki)),
      lifetimeDays: settings.lifetimeDays,
    });
    const serial = serialKey(certificate.serialNumber);
    const pem = made.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    await tx
      .insertInto("remote_signing_keys")
      .values({
        holder,
        certificate_serial: serial,
        sealed_private_key: settings.sealer.seal(pem),
        revoked_at: null,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "signing.key-issued",
      subject: { type: "person", id: holder },
      after: { certificate: serial, notAfter: certificate.notAfter },
    });
    return { privateKey: made.privateKey, certificate: new Uint8Array(certificate.rawData), serial };
  });
}

async function currentKey(queryable: Queryable, sealer: Sealer, holder: string) {
  const row = await queryable
    .selectFrom("remote_signing_keys")
    .innerJoin("pki_certificates", "pki_certificates.serial", "remote_signing_keys.certificate_serial")
    .select([
      "remote_signing_keys.sealed_private_key",
      "pki_certificates.certificate",
      "pki_certificates.serial",
      "pki_certificates.not_after",
    ])
    .where("remote_signing_keys.holder", "=", holder)
    .where("remote_signing_keys.revoked_at", "is", null)
    .executeTakeFirst();
  if (!row) return undefined;
  if (row.not_after.getTime() < Date.now()) return undefined;
  return {
    privateKey: createPrivateKey(sealer.open(row.sealed_private_key)),
    certificate: new Uint8Array(row.certificate),
    serial: row.serial,
  };
}

/** RSASSA-PKCS1-v1_5 with SHA-256 over each payload's bytes (a canonical SignedInfo). */
export function signPayloads(key: RemoteSigningKey, payloads: Buffer[]): Buffer[] {
  return payloads.map((payload) => createSign("sha256").update(payload).sign(key.privateKey));
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
