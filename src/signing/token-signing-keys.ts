import { createPublicKey, randomBytes } from "node:crypto";
import pkcs11js from "pkcs11js";
import { findTokenObject, openTokenSession, type TokenSettings } from "../pki/token-session.ts";

/**
 * The remote signing service's per-person keys held in a PKCS#11 token (an HSM in production,
 * SoftHSM2 in tests) when CAREID_SIGNING_PKCS11_* is set: RSA-2048 generated in the token,
 * sensitive and never extractable, each found again by its label. The service signs with them
 * through its one logged-in session; the database keeps only the label.
 */
export type SigningToken = {
  /** A new key pair in the token: its label and public half (SubjectPublicKeyInfo DER). */
  generate(): { label: string; publicKeySpki: Buffer };
  /** RSASSA-PKCS1-v1_5 with SHA-256 (CKM_SHA256_RSA_PKCS) over each payload, by the labelled key. */
  sign(label: string, payloads: Buffer[]): Buffer[];
  /** Removes a key pair, as when another node's key won the race to be the person's. */
  destroy(label: string): void;
  close(): void;
};

export function openSigningToken(settings: TokenSettings): SigningToken {
  const token = openTokenSession(settings);
  const { pkcs11, session } = token;
  const find = (label: string, objectClass: number) =>
    findTokenObject(token, [
      { type: pkcs11js.CKA_CLASS, value: objectClass },
      { type: pkcs11js.CKA_LABEL, value: label },
    ]);
  return {
    generate() {
      const label = `careid-signing-${randomBytes(12).toString("hex")}`;
      const pair = pkcs11.C_GenerateKeyPair(
        session,
        { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_VERIFY, value: true },
          { type: pkcs11js.CKA_ENCRYPT, value: false },
          { type: pkcs11js.CKA_WRAP, value: false },
          { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
          { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
          { type: pkcs11js.CKA_LABEL, value: label },
        ],
        [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: false },
          // A signing key only: never decrypts or unwraps.
          { type: pkcs11js.CKA_SIGN, value: true },
          { type: pkcs11js.CKA_DECRYPT, value: false },
          { type: pkcs11js.CKA_UNWRAP, value: false },
          { type: pkcs11js.CKA_LABEL, value: label },
        ],
      );
      const [modulus, exponent] = pkcs11
        .C_GetAttributeValue(session, pair.publicKey, [
          { type: pkcs11js.CKA_MODULUS },
          { type: pkcs11js.CKA_PUBLIC_EXPONENT },
        ])
        .map((attribute) => Buffer.from(attribute.value as Buffer).toString("base64url"));
      const publicKeySpki = createPublicKey({
        key: { kty: "RSA", n: modulus, e: exponent },
        format: "jwk",
      }).export({ type: "spki", format: "der" });
      return { label, publicKeySpki };
    },
    sign(label, payloads) {
      const key = find(label, pkcs11js.CKO_PRIVATE_KEY);
      if (!key) throw new Error(`The signing token "${settings.tokenLabel}" holds no key labelled ${label}`);
      return payloads.map((payload) => {
        pkcs11.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
        return pkcs11.C_Sign(session, payload, Buffer.alloc(256));
      });
    },
    destroy(label) {
      for (const objectClass of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY]) {
        const found = find(label, objectClass);
        if (found) pkcs11.C_DestroyObject(session, found);
      }
    },
    close() {
      pkcs11.C_CloseSession(session);
    },
  };
}
