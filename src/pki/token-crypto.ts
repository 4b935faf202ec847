import { createHash } from "node:crypto";
import { type CryptoKey, webcrypto } from "./engine.ts";
import type { TokenKey } from "./token-key.ts";

/**
 * A WebCrypto that signs with a token-held key: both X.509 libraries take a crypto provider,
 * and this one hands them a stand-in CryptoKey whose signatures the token makes. Everything
 * else (digests, public keys) is Node's WebCrypto.
 */
export function tokenCrypto(token: TokenKey): { crypto: typeof webcrypto; privateKey: CryptoKey } {
  const privateKey = {
    type: "private",
    extractable: false,
    algorithm: { name: "ECDSA", namedCurve: "P-256" },
    usages: ["sign"],
  } as unknown as CryptoKey;
  const subtle = new Proxy(webcrypto.subtle, {
    get(target, property) {
      if (property === "sign")
        return async (algorithm: unknown, key: CryptoKey, data: ArrayBuffer | ArrayBufferView) => {
          if (key !== privateKey) return target.sign(algorithm as never, key, data as never);
          const bytes = ArrayBuffer.isView(data)
            ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
            : Buffer.from(data);
          const signature = token.signDigest(createHash("sha256").update(bytes).digest());
          return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const crypto = {
    subtle,
    getRandomValues: webcrypto.getRandomValues.bind(webcrypto),
    randomUUID: webcrypto.randomUUID.bind(webcrypto),
  } as typeof webcrypto;
  return { crypto, privateKey };
}
