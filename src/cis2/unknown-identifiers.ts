import { createHash } from "node:crypto";
import type { Method } from "../assurance/methods.ts";
import type { SignInAccount } from "../authenticators/throttle.ts";

/**
 * An identifier that names no active Care Identity is answered as if it named someone holding a
 * password and the authenticator app (what a Care Identity holds once they have enrolled one),
 * so the identify step and the pages after it do not tell who has a Care Identity. Every guess
 * made for it fails with the words a wrong guess gets, after the same Argon2id work, and it is
 * throttled under a digest of the identifier exactly as a person is under their UUID.
 */
export function methodsOfUnknown(developmentLogin: boolean): Method[] {
  return developmentLogin ? ["pwd", "TOTP"] : ["TOTP"];
}

/** The account a sign-in's guesses are counted on; no email address is kept in the counters. */
export function signInAccount(identifier: string, uuid: string | undefined): SignInAccount {
  if (uuid) return { key: uuid, uuid };
  const digest = createHash("sha256").update(identifier.toLowerCase()).digest("hex").slice(0, 24);
  return { key: `unknown-${digest}` };
}
