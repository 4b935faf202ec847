import { createVerify } from "node:crypto";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { serialKey, x509 } from "../pki/engine.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import { refuseUnlessPending, tokenHash } from "./remote-requests.ts";
import { RequestTokenError } from "./request-token.ts";

/**
 * The browser signing service's last step: signatures the holder's smartcard made through the
 * workstation agent (the agent asked for the passcode on its own page) come back from the
 * service's page. They are accepted only if the certificate is the signing certificate of an
 * active card of the request's holder, as we issued it and not revoked, and every signature
 * verifies over its payload; the passcode on the card was the AAL3 presence check.
 */
export type CardSignatures = { signatures: unknown; certificate: unknown };

export async function acceptCardSignatures(
  queryable: Queryable,
  token: string,
  input: CardSignatures,
  now = new Date(),
): Promise<{ count: number; clientId: string }> {
  return inTransaction(queryable, async (tx) => {
    const request = await tx
      .selectFrom("signature_requests")
      .select(["client_id", "holder", "items", "status", "expires_at"])
      .where("token_hash", "=", tokenHash(token))
      .forUpdate()
      .executeTakeFirst();
    refuseUnlessPending(request, now);
    const refuse = (message: string) => new RequestTokenError("card-signature-refused", 400, message);
    let certificate: x509.X509Certificate;
    try {
      certificate = new x509.X509Certificate(Buffer.from(String(input.certificate), "base64"));
    } catch {
      throw refuse("certificate: not a certificate");
    }
    const serial = serialKey(certificate.serialNumber);
    const issued = await tx
      .selectFrom("pki_certificates")
      .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
      .leftJoin("smartcards", "smartcards.serial", "pki_certificates.card_serial")
      .select([
        "pki_certificates.certificate",
        "pki_certificates.profile",
        "pki_certificates.holder",
        "pki_certificates.not_before",
        "pki_certificates.not_after",
        "pki_revocations.revoked_at",
        "smartcards.status as card_status",
      ])
      .where("pki_certificates.serial", "=", serial)
      .executeTakeFirst();
    if (!issued || !Buffer.from(issued.certificate).equals(Buffer.from(certificate.rawData)))
      throw refuse("certificate: not one the Care Identity Service issued");
    if (issued.profile !== "card-signing") throw refuse("certificate: not a smartcard's signing certificate");
    if (issued.holder !== request.holder) throw refuse("certificate: the smartcard belongs to someone else");
    if (issued.revoked_at) throw refuse("certificate: revoked");
    if (issued.card_status !== "active")
      throw refuse(`certificate: the smartcard is ${issued.card_status ?? "unknown"}`);
    if (now < issued.not_before || now > issued.not_after) throw refuse("certificate: outside its validity");
    const signatures = input.signatures;
    if (!Array.isArray(signatures) || signatures.length !== request.items.length)
      throw refuse(`signatures: must be ${request.items.length}, one for each item`);
    const publicKey = certificate.publicKey.toString("pem");
    request.items.forEach((item, index) => {
      const signature = signatures[index];
      const holds =
        typeof signature === "string" &&
        createVerify("sha256")
          .update(Buffer.from(item.payload, "base64"))
          .verify(publicKey, Buffer.from(signature, "base64"));
      if (!holds) throw refuse(`signatures[${index}]: does not verify over item ${item.id}`);
    });
    const collected = request.items.map((item, index) => ({
      id: item.id,
      signature: signatures[index] as string,
    }));
    await tx
      .updateTable("signature_requests")
      .set({
        status: "signed",
        signatures: JSON.stringify(collected),
        certificate_serial: serial,
        signed_at: now,
      })
      .where("token_hash", "=", tokenHash(token))
      .execute();
    const actor: Actor = { kind: "person", id: request.holder, source: "SIGNING" };
    await recordEvent(tx, actor, {
      action: "signing.signed",
      subject: { type: "person", id: request.holder },
      after: {
        client: request.client_id,
        items: collected.length,
        method: "CIS2_SMARTCARD",
        certificate: serial,
      },
    });
    return { count: collected.length, clientId: request.client_id };
  });
}
