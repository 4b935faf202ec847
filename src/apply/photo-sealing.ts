import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Sealer } from "../secrets/sealed.ts";

/**
 * Envelope encryption of one photo: a fresh AES-256-GCM data key per file, the data key sealed
 * under the master key. Deleting the sealed key is enough to make the photo unreadable.
 */
export function sealPhoto(sealer: Sealer, photo: Buffer): { sealedKey: string; ciphertext: string } {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const body = Buffer.concat([cipher.update(photo), cipher.final()]);
  return {
    sealedKey: sealer.seal(key.toString("base64url")),
    ciphertext: Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url"),
  };
}

export function openPhoto(sealer: Sealer, sealed: { sealedKey: string; ciphertext: string }): Buffer {
  const key = Buffer.from(sealer.open(sealed.sealedKey), "base64url");
  const bytes = Buffer.from(sealed.ciphertext, "base64url");
  const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, 12));
  decipher.setAuthTag(bytes.subarray(bytes.length - 16));
  return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
}
