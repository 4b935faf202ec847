import { readFileSync } from "node:fs";
import { InvalidInputError } from "../../errors.ts";

/**
 * The rules for a password a person chooses for their authenticator app (NIST SP 800-63B 5.1.1.2):
 * at least 8 characters (up to 256, any characters, spaces kept), and not one on the list of
 * common or breached passwords shipped in common-passwords.txt, nor one made of the service's
 * name or the person's own UUID. No composition rules (no "one digit, one capital"), no expiry:
 * NIST advises against both. The list is compared ignoring case, so "Password1" is refused too.
 */
export const passwordLength = { min: 8, max: 256 };

let blocklist: Set<string> | undefined;

function commonPasswords(): Set<string> {
  blocklist ??= new Set(
    readFileSync(new URL("common-passwords.txt", import.meta.url), "utf8")
      .split("\n")
      .map((line) => line.trim().toLowerCase())
      .filter(Boolean),
  );
  return blocklist;
}

/** Why a new password is refused, in words for its holder; undefined when it is acceptable. */
export function newPasswordProblem(password: string, context: { uuid?: string } = {}): string | undefined {
  const length = [...String(password ?? "")].length;
  if (length < passwordLength.min) return `Enter a password of at least ${passwordLength.min} characters`;
  if (length > passwordLength.max) return `Enter a password of at most ${passwordLength.max} characters`;
  const folded = password.toLowerCase();
  if (commonPasswords().has(folded) || commonPasswords().has(folded.trim()))
    return "This password is too common: it is on a list of passwords that attackers try first. Choose another.";
  if (/^(.)\1*$/u.test(password)) return "Choose a password that is not one character repeated";
  if (context.uuid && folded.includes(context.uuid))
    return "Choose a password that does not contain your Care Identity UUID";
  return undefined;
}

/** Checks a new password and its confirmation; throws the problem against the field at fault. */
export function checkNewPassword(
  password: string,
  confirmation: string,
  context: { uuid?: string } = {},
): void {
  const problem = newPasswordProblem(password, context);
  if (problem) throw InvalidInputError.field("password", problem);
  if (password !== confirmation) throw InvalidInputError.field("confirmation", "The passwords do not match");
}
