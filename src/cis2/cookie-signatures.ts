import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from "node:crypto";

/**
 * oidc-provider's cookie signatures, made exactly as Keygrip makes them (HMAC-SHA1, base64url,
 * the first key signs, any key verifies), so cookies signed before still verify. Keygrip
 * compares with tsscmp, which computes two more HMACs under a fresh random key for every
 * comparison; a sign-in reads several signed cookies in each of its requests, so those extra
 * HMACs were a visible share of its CPU. `timingSafeEqual` compares in constant time as well.
 */
export function cookieSignatures(keys: string[]) {
  const secrets: KeyObject[] = keys.map((key) => createSecretKey(Buffer.from(key)));
  const signWith = (data: string, secret: KeyObject) =>
    createHmac("sha1", secret).update(data).digest("base64url");
  const index = (data: string, digest: string): number => {
    const given = Buffer.from(digest);
    return secrets.findIndex((secret) => {
      const expected = Buffer.from(signWith(data, secret));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  };
  return {
    sign: (data: string) => signWith(data, secrets[0] as KeyObject),
    index,
    verify: (data: string, digest: string) => index(data, digest) > -1,
  };
}
