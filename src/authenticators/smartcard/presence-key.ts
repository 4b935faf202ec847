import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { InvalidInputError } from "../../errors.ts";

/**
 * A card's presence key: a key pair made on the card at issue (and again at repair) whose
 * private half the card uses without its passcode, as PIV's card authentication key. A locked
 * card cannot use its passcode-protected keys, but it can still sign a fresh challenge with this
 * one, which proves the card itself is in the reader and not just that someone knows its serial.
 * The service keeps the public half (DER SubjectPublicKeyInfo).
 */
export function readPresenceKey(value: unknown): Uint8Array | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || value.length > 4096)
    throw InvalidInputError.field(
      "presenceKey",
      "must be the card's presence key: base64 of a DER public key",
    );
  const der = Buffer.from(value.replace(/-----[^-]+-----|\s/g, ""), "base64");
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: "der", type: "spki" });
  } catch {
    throw InvalidInputError.field("presenceKey", "is not a DER SubjectPublicKeyInfo");
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  const curve = key.asymmetricKeyDetails?.namedCurve ?? "";
  const accepted =
    (key.asymmetricKeyType === "rsa" && bits >= 2048 && bits <= 4096) ||
    (key.asymmetricKeyType === "ec" && ["prime256v1", "secp384r1"].includes(curve));
  if (!accepted)
    throw InvalidInputError.field("presenceKey", "must be RSA 2048 to 4096 bits or EC P-256 / P-384");
  return new Uint8Array(key.export({ type: "spki", format: "der" }));
}

/** Did the presence key sign this challenge (UTF-8, SHA-256; RSA PKCS#1 v1.5 or ECDSA)? */
export function signedByPresenceKey(presenceKey: Uint8Array, challenge: string, signature: string): boolean {
  const key = createPublicKey({ key: Buffer.from(presenceKey), format: "der", type: "spki" });
  const bytes = Buffer.from(signature, "base64url");
  try {
    if (key.asymmetricKeyType === "ec")
      return verify("sha256", Buffer.from(challenge, "utf8"), { key, dsaEncoding: "ieee-p1363" }, bytes);
    return verify("sha256", Buffer.from(challenge, "utf8"), key, bytes);
  } catch {
    return false;
  }
}
