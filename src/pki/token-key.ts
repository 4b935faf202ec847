import pkcs11js from "pkcs11js";
import { findTokenObject, openTokenSession, type TokenSettings } from "./token-session.ts";

export type { TokenSettings };

/**
 * The issuing CA's private key held in a PKCS#11 token (an HSM in production, SoftHSM2 in
 * tests): generated there, never extractable, used only to sign digests. The service logs in
 * with the token's user PIN at start and keeps one session.
 */
export type TokenKey = {
  /** The public half as SubjectPublicKeyInfo DER. */
  publicKeySpki: Buffer;
  /** ECDSA over a SHA-256 digest: the raw r||s, as WebCrypto gives it. */
  signDigest(digest: Buffer): Buffer;
  close(): void;
};

export const issuingKeyLabel = "careid-issuing-ca";
// namedCurve prime256v1 (1.2.840.10045.3.1.7), and the SPKI header that goes before its point.
const p256Parameters = Buffer.from("06082a8648ce3d030107", "hex");
const p256SpkiPrefix = Buffer.from("3059301306072a8648ce3d020106082a8648ce3d030107034200", "hex");

export function openTokenKey(settings: TokenSettings, create: boolean): TokenKey {
  const token = openTokenSession(settings);
  const { pkcs11, session } = token;
  const find = (objectClass: number) =>
    findTokenObject(token, [
      { type: pkcs11js.CKA_CLASS, value: objectClass },
      { type: pkcs11js.CKA_LABEL, value: issuingKeyLabel },
    ]);
  let privateKey = find(pkcs11js.CKO_PRIVATE_KEY);
  let publicKey = find(pkcs11js.CKO_PUBLIC_KEY);
  if (!privateKey || !publicKey) {
    if (!create)
      throw new Error(`The token "${settings.tokenLabel}" holds no key labelled ${issuingKeyLabel}`);
    const pair = pkcs11.C_GenerateKeyPair(
      session,
      { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_EC_PARAMS, value: p256Parameters },
        { type: pkcs11js.CKA_LABEL, value: issuingKeyLabel },
      ],
      [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_LABEL, value: issuingKeyLabel },
      ],
    );
    privateKey = pair.privateKey;
    publicKey = pair.publicKey;
  }
  const signingKey = privateKey;
  const [point] = pkcs11.C_GetAttributeValue(session, publicKey, [{ type: pkcs11js.CKA_EC_POINT }]);
  // CKA_EC_POINT is the DER OCTET STRING around the uncompressed point (0x04, x, y).
  const raw = point?.value as Buffer;
  return {
    publicKeySpki: Buffer.concat([p256SpkiPrefix, raw.subarray(raw.length - 65)]),
    signDigest(digest) {
      pkcs11.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, signingKey);
      return pkcs11.C_Sign(session, digest, Buffer.alloc(132));
    },
    close() {
      pkcs11.C_CloseSession(session);
    },
  };
}
