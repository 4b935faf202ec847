import type { Problems } from "../../errors.ts";
import { odsCodePattern } from "../../rbac/organisations.ts";

/** Field rules shared by accredited systems and messaging endpoints. */

/** An MHS party key is the owner's ODS code, a hyphen and six or seven digits: A20047-821870. */
export const partyKeyPattern = /^[A-Z0-9]{3,10}-[0-9]{6,7}$/;
/** Interaction ids are URNs under urn:nhs:names:services, e.g. ...:psis:REPC_IN150016UK05. */
export const interactionPattern = /^urn:nhs:names:services:[A-Za-z0-9_.:-]+$/;
/** ISO 8601 durations as the reliability settings use them: PT1M, PT5M, P1D. */
const durationPattern = /^P(?=\d|T\d)(?:\d+D)?(?:T(?=\d)(?:\d+H)?(?:\d+M)?(?:\d+S)?)?$/;

export function checkOdsCode(problems: Problems, field: string, value: unknown): string {
  const code = typeof value === "string" ? value.trim().toUpperCase() : "";
  if (!odsCodePattern.test(code)) problems.add(field, "must be an ODS code of 3 to 10 letters and digits");
  return code;
}

export function checkPartyKey(problems: Problems, field: string, value: unknown): string {
  const key = typeof value === "string" ? value.trim().toUpperCase() : "";
  if (!partyKeyPattern.test(key))
    problems.add(field, "must be an ODS code, a hyphen and 6 or 7 digits, e.g. A20047-821870");
  return key;
}

export function checkInteraction(problems: Problems, field: string, value: unknown): string {
  const interaction = typeof value === "string" ? value.trim() : "";
  if (!interactionPattern.test(interaction))
    problems.add(field, "must be an interaction id such as urn:nhs:names:services:psis:REPC_IN150016UK05");
  return interaction;
}

export function checkText(
  problems: Problems,
  field: string,
  value: unknown,
  required: boolean,
): string | null {
  if (value === undefined || value === null || value === "") {
    if (required) problems.add(field, "is required");
    return null;
  }
  if (typeof value !== "string" || value.length > 200) {
    problems.add(field, "must be text of up to 200 characters");
    return null;
  }
  return value.trim();
}

export function checkDuration(problems: Problems, field: string, value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value !== "string" || !durationPattern.test(value))
    problems.add(field, "must be an ISO 8601 duration such as PT1M");
  return String(value);
}

export function checkChoice<T extends string>(
  problems: Problems,
  field: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined || value === null) return fallback;
  const choice = choices.find((candidate) => candidate === value);
  if (!choice) problems.add(field, `must be one of ${choices.join(", ")}`);
  return choice ?? fallback;
}
