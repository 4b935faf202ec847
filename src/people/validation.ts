import type { Problems } from "../errors.ts";
import { registrationBody } from "./registrations.ts";

/**
 * Field rules for Care Identity profiles. Each check adds a problem naming its field and
 * returns the normalised value, so a caller can report every fault in one answer.
 */

const namePattern = /^[\p{L}\p{M}][\p{L}\p{M}' .-]*$/u;

export function checkName(
  problems: Problems,
  field: string,
  value: unknown,
  required: boolean,
): string | null {
  if (value === undefined || value === null || value === "") {
    if (required) problems.add(field, "is required");
    return null;
  }
  const name = typeof value === "string" ? value.trim().replace(/\s+/g, " ") : "";
  if (name.length === 0 || name.length > 100 || !namePattern.test(name)) {
    problems.add(field, "must be 1 to 100 letters, spaces, hyphens, apostrophes or full stops");
    return null;
  }
  return name;
}

export function checkTitle(problems: Problems, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (typeof value !== "string" || value.trim().length > 35 || !namePattern.test(value.trim())) {
    problems.add("title", "must be up to 35 letters, e.g. Dr, Mrs, Prof");
    return null;
  }
  return value.trim();
}

export function checkIsoDate(problems: Problems, field: string, value: unknown): string | null {
  if (typeof value !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    problems.add(field, "must be a date written YYYY-MM-DD");
    return null;
  }
  const date = new Date(`${value}T00:00:00Z`);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== value) {
    problems.add(field, `${value} is not a calendar date`);
    return null;
  }
  return value;
}

export function checkDateOfBirth(problems: Problems, value: unknown, today = new Date()): string | null {
  if (value === undefined || value === null || value === "") return null;
  const date = checkIsoDate(problems, "dateOfBirth", value);
  if (!date) return null;
  const age = (today.getTime() - new Date(date).getTime()) / (365.25 * 24 * 3600 * 1000);
  if (age < 14 || age > 120) {
    problems.add("dateOfBirth", "must make the person between 14 and 120 years old");
    return null;
  }
  return date;
}

/** HMRC rules: no D, F, I, Q, U, V first; no D, F, I, O, Q, U, V second; some pairs never issued. */
const unissuedPrefixes = new Set(["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"]);

export function checkNiNumber(problems: Problems, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  const number = typeof value === "string" ? value.replace(/\s+/g, "").toUpperCase() : "";
  const valid =
    /^[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z][0-9]{6}[A-D]$/.test(number) &&
    !unissuedPrefixes.has(number.slice(0, 2));
  if (!valid) {
    problems.add("niNumber", "must be a National Insurance number like QQ123456C");
    return null;
  }
  return number;
}

export function checkEmail(problems: Problems, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  const email = typeof value === "string" ? value.trim().toLowerCase() : "";
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
    problems.add("email", "must be an email address like name@nhs.net");
    return null;
  }
  return email;
}

export function checkMobile(problems: Problems, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  const digits = typeof value === "string" ? value.replace(/[\s()-]/g, "") : "";
  const national = digits.startsWith("+44") ? `0${digits.slice(3)}` : digits;
  if (!/^07[0-9]{9}$/.test(national)) {
    problems.add("mobile", "must be a UK mobile number like 07700 900123");
    return null;
  }
  return national;
}

export function checkAssuranceLevel(problems: Problems, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 3) {
    problems.add("identityAssuranceLevel", "must be 0, 1, 2 or 3");
    return 0;
  }
  return value;
}

export type Registration = { body: string; number: string };

export function checkRegistrations(problems: Problems, value: unknown): Registration[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    problems.add("registrations", "must be a list of {body, number}");
    return [];
  }
  const seen = new Set<string>();
  return value.flatMap((entry, index) => {
    const field = `registrations[${index}]`;
    const body = registrationBody(String(entry?.body ?? ""));
    if (!body) {
      problems.add(`${field}.body`, `"${entry?.body}" is not a known register (GMC, NMC, GPhC, HCPC, GDC)`);
      return [];
    }
    const number = String(entry?.number ?? "")
      .trim()
      .toUpperCase();
    if (!body.pattern.test(number)) {
      problems.add(`${field}.number`, `${body.code} numbers are ${body.format}`);
      return [];
    }
    if (seen.has(body.code)) {
      problems.add(`${field}.body`, `${body.code} is listed twice`);
      return [];
    }
    seen.add(body.code);
    return [{ body: body.code, number }];
  });
}
