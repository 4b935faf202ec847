import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * Secrets at rest are sealed with AES-256-GCM under the master key. The sealed form names the
 * key by a short fingerprint, so a secret sealed under another key is refused with a clear
 * message rather than decrypted into garbage.
 */
export type Sealer = { seal(plaintext: string): string; open(sealed: string): string };

export function sealerFor(masterKey: Buffer): Sealer {
  const fingerprint = createHash("sha256").update(masterKey).digest("base64url").slice(0, 8);
  return {
    seal(plaintext) {
      const iv = randomBytes(12);
      const cipher = createCipheriv("aes-256-gcm", masterKey, iv);
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return [
        "v1",
        fingerprint,
        iv.toString("base64url"),
        body.toString("base64url"),
        cipher.getAuthTag().toString("base64url"),
      ].join(".");
    },
    open(sealed) {
      const [version, keyId, iv, body, tag] = sealed.split(".");
      if (version !== "v1" || !iv || !body || !tag) throw new Error("not a sealed secret");
      if (keyId !== fingerprint) {
        throw new Error(
          `this secret was sealed under another master key (${keyId}); set CAREID_MASTER_KEY to that key`,
        );
      }
      const decipher = createDecipheriv("aes-256-gcm", masterKey, Buffer.from(iv, "base64url"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString(
        "utf8",
      );
    },
  };
}
