import { Secret, TOTP } from "otpauth";

/**
 * RFC 6238 codes as Microsoft Authenticator and every common app read them: SHA-1, six digits,
 * 30-second steps. A code is accepted in its own step or one step either side, to allow for
 * clocks that drift and for the time it takes to type.
 */
const settings = { algorithm: "SHA1", digits: 6, period: 30 } as const;
const window = 1;

/** A new 160-bit secret (RFC 4226's recommended length), in the base32 the apps take. */
export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

/** The otpauth:// URI the enrolment QR code carries. */
export function provisioningUri(secret: string, account: string): string {
  return new TOTP({ ...settings, issuer: "Care Identity Service", label: account, secret }).toString();
}

export function timeStep(at: Date): number {
  return Math.floor(at.getTime() / 1000 / settings.period);
}

/** The time step a code belongs to, if it is the right code within the window; else undefined. */
export function stepOfCode(secret: string, code: string, at: Date): number | undefined {
  const digits = String(code ?? "").replaceAll(/\s/g, "");
  if (!/^\d{6}$/.test(digits)) return undefined;
  const totp = new TOTP({ ...settings, secret: Secret.fromBase32(secret) });
  const delta = totp.validate({ token: digits, timestamp: at.getTime(), window });
  return delta === null ? undefined : timeStep(at) + delta;
}

/** The code for a time step: what an app shows then. */
export function codeAt(secret: string, at: Date): string {
  return new TOTP({ ...settings, secret: Secret.fromBase32(secret) }).generate({ timestamp: at.getTime() });
}
