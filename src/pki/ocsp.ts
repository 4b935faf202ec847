import * as asn1js from "asn1js";
import type { Queryable } from "../store/database.ts";
import type { RevocationReason } from "../store/schema.ts";
import type { CertificateAuthority } from "./certificate-authority.ts";
import { pkijs, serialKey, webcrypto } from "./engine.ts";

/**
 * The OCSP responder (RFC 6960) for certificates of the issuing CA. The issuing CA signs the
 * answers itself (responder by key hash), so no certificate rides along: the client holds the
 * issuer already (RFC 6960 4.2.2.2). The status is read from the same tables as the CRL, so
 * both tell the same story the moment a revocation commits.
 */
const responseStatus = { successful: 0, malformedRequest: 1, internalError: 2, unauthorized: 6 } as const;
const basicResponseOid = "1.3.6.1.5.5.7.48.1.1";
const nonceOid = "1.3.6.1.5.5.7.48.1.2";
const hashNames: Record<string, string> = {
  "1.3.14.3.2.26": "SHA-1",
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};
const reasonCodes: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
};

type IssuerHashes = Map<string, { name: string; key: string }>;

export type OcspResponder = (request: Uint8Array, now?: Date) => Promise<Uint8Array>;

export async function ocspResponder(
  queryable: Queryable,
  authority: CertificateAuthority,
): Promise<OcspResponder> {
  const issuer = pkijs.Certificate.fromBER(authority.issuing.rawData);
  const issuerHashes = await hashesOfIssuer(issuer);
  const responderKeyHash = issuerHashes.get("SHA-1")?.key ?? "";
  const signingEngine = new pkijs.CryptoEngine({ name: "issuing-ca", crypto: authority.crypto as never });
  return async function answer(requestDer, now = new Date()) {
    const request = parseRequest(requestDer);
    if (!request) return statusOnly(responseStatus.malformedRequest);
    const serials: string[] = [];
    for (const item of request.tbsRequest.requestList) {
      if (!isOurs(item.reqCert, issuerHashes)) return statusOnly(responseStatus.unauthorized);
      serials.push(serialKey(Buffer.from(item.reqCert.serialNumber.valueBlock.valueHexView).toString("hex")));
    }
    const statuses = await statusesOf(queryable, serials);
    const basic = new pkijs.BasicOCSPResponse();
    basic.tbsResponseData.responderID = new asn1js.OctetString({
      valueHex: Buffer.from(responderKeyHash, "hex"),
    });
    basic.tbsResponseData.producedAt = now;
    basic.tbsResponseData.responses = request.tbsRequest.requestList.map(
      (item, index) =>
        new pkijs.SingleResponse({
          certID: item.reqCert,
          certStatus: certStatus(statuses.get(serials[index] ?? "")),
          thisUpdate: now,
        }),
    );
    const nonce = request.tbsRequest.requestExtensions?.find((extension) => extension.extnID === nonceOid);
    if (nonce) basic.tbsResponseData.responseExtensions = [nonce];
    await basic.sign(authority.issuingKey, "SHA-256", signingEngine);
    return new Uint8Array(
      new pkijs.OCSPResponse({
        responseStatus: new asn1js.Enumerated({ value: responseStatus.successful }),
        responseBytes: new pkijs.ResponseBytes({
          responseType: basicResponseOid,
          response: new asn1js.OctetString({ valueHex: basic.toSchema().toBER() }),
        }),
      })
        .toSchema()
        .toBER(),
    );
  };
}

function parseRequest(der: Uint8Array): pkijs.OCSPRequest | undefined {
  try {
    const request = pkijs.OCSPRequest.fromBER(der);
    return request.tbsRequest.requestList.length > 0 ? request : undefined;
  } catch {
    return undefined;
  }
}

function statusOnly(status: number): Uint8Array {
  return new Uint8Array(
    new pkijs.OCSPResponse({ responseStatus: new asn1js.Enumerated({ value: status }) }).toSchema().toBER(),
  );
}

/** RFC 6960 CertID: hashes of the issuer's DER name and of its public key's bits. */
async function hashesOfIssuer(issuer: pkijs.Certificate): Promise<IssuerHashes> {
  const name = issuer.subject.toSchema().toBER();
  const key = issuer.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
  const hashes: IssuerHashes = new Map();
  for (const algorithm of new Set(Object.values(hashNames))) {
    hashes.set(algorithm, {
      name: await hexDigest(algorithm, new Uint8Array(name)),
      key: await hexDigest(algorithm, key),
    });
  }
  return hashes;
}

async function hexDigest(algorithm: string, data: Uint8Array): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest(algorithm, data)).toString("hex");
}

function isOurs(certId: pkijs.CertID, hashes: IssuerHashes): boolean {
  const algorithm = hashNames[certId.hashAlgorithm.algorithmId];
  const expected = algorithm ? hashes.get(algorithm) : undefined;
  return (
    expected !== undefined &&
    Buffer.from(certId.issuerNameHash.valueBlock.valueHexView).toString("hex") === expected.name &&
    Buffer.from(certId.issuerKeyHash.valueBlock.valueHexView).toString("hex") === expected.key
  );
}

type Known = { revokedAt: Date | null; reason: RevocationReason | null };

async function statusesOf(queryable: Queryable, serials: string[]): Promise<Map<string, Known>> {
  const rows = await queryable
    .selectFrom("pki_certificates")
    .leftJoin("pki_revocations", "pki_revocations.serial", "pki_certificates.serial")
    .select(["pki_certificates.serial", "pki_revocations.revoked_at", "pki_revocations.reason"])
    .where("pki_certificates.serial", "in", serials)
    .execute();
  return new Map(rows.map((row) => [row.serial, { revokedAt: row.revoked_at, reason: row.reason }]));
}

function certStatus(known: Known | undefined): asn1js.BaseBlock {
  const tag = (tagNumber: number) => ({ tagClass: 3, tagNumber });
  if (!known) return new asn1js.Primitive({ idBlock: tag(2), lenBlockLength: 1 } as never);
  if (!known.revokedAt) return new asn1js.Primitive({ idBlock: tag(0), lenBlockLength: 1 } as never);
  return new asn1js.Constructed({
    idBlock: tag(1),
    value: [
      new asn1js.GeneralizedTime({ valueDate: known.revokedAt }),
      new asn1js.Constructed({
        idBlock: tag(0),
        value: [new asn1js.Enumerated({ value: reasonCodes[known.reason ?? "unspecified"] })],
      }),
    ],
  });
}
