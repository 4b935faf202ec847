import { createHash, randomBytes } from "node:crypto";

/**
 * The CIS1 SSO token, in the shape of the OpenAM tokens legacy applications were written
 * against (`AQIC5wM2LY4Sfc...*`): a fixed prefix, 256 random bits in base64url, and a closing
 * `*`. It is a bearer secret: the service keeps only its SHA-256 digest.
 */
const prefix = "AQIC5wM2LY4Sfc";
const pattern = /^AQIC5wM2LY4Sfc[A-Za-z0-9_-]{43}\*$/;

export function newSsoToken(): string {
  return `${prefix}${randomBytes(32).toString("base64url")}*`;
}

export function isWellFormedToken(value: unknown): value is string {
  return typeof value === "string" && pattern.test(value);
}

export function tokenDigest(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
