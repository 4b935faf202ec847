import { InvalidInputError } from "../errors.ts";

/**
 * The machine-readable zone (MRZ) of a passport (ICAO 9303 part 4, TD3: two lines of 44) or an
 * identity card (part 5, TD1: three lines of 30), parsed and every check digit verified. A wrong
 * check digit means the zone was misread or altered, so it is refused outright.
 */
export type MachineReadableZone = {
  format: "TD3" | "TD1";
  documentCode: string;
  issuingState: string;
  familyName: string;
  givenNames: string;
  documentNumber: string;
  nationality: string;
  dateOfBirth: string;
  expiresOn: string;
};

const weights = [7, 3, 1];

function characterValue(character: string): number {
  if (character === "<") return 0;
  if (/[0-9]/.test(character)) return Number(character);
  if (/[A-Z]/.test(character)) return character.charCodeAt(0) - 55;
  throw InvalidInputError.field("machineReadableZone", `has a character it may not hold: "${character}"`);
}

/** ICAO 9303 part 3, 4.9: weights 7, 3, 1 repeated, modulo 10. */
export function checkDigit(text: string): string {
  let sum = 0;
  for (let index = 0; index < text.length; index++)
    sum += characterValue(text[index] as string) * (weights[index % 3] as number);
  return String(sum % 10);
}

function verify(what: string, text: string, digit: string): void {
  // A field left blank may carry "<" as its check digit (part 3, 4.9).
  if (digit === "<" && /^<*$/.test(text)) return;
  if (checkDigit(text) !== digit)
    throw InvalidInputError.field(
      "machineReadableZone",
      `the check digit of the ${what} does not match: copy the lines again exactly as printed`,
    );
}

/** YYMMDD as a date: a birth date is never in the future; an expiry is this century. */
function dateOf(what: string, yymmdd: string, kind: "birth" | "expiry", today: string): string {
  if (!/^\d{6}$/.test(yymmdd)) throw InvalidInputError.field("machineReadableZone", `has no ${what}`);
  const year = Number(yymmdd.slice(0, 2));
  const thisYear = Number(today.slice(2, 4));
  const century = kind === "expiry" || year <= thisYear ? 2000 : 1900;
  const date = `${century + year}-${yymmdd.slice(2, 4)}-${yymmdd.slice(4, 6)}`;
  if (
    Number.isNaN(Date.parse(`${date}T00:00:00Z`)) ||
    new Date(`${date}T00:00:00Z`).toISOString().slice(0, 10) !== date
  )
    throw InvalidInputError.field("machineReadableZone", `has an impossible ${what}`);
  return date;
}

function namesOf(field: string): { familyName: string; givenNames: string } {
  const [family = "", given = ""] = field.replace(/<+$/, "").split("<<");
  return { familyName: family.replaceAll("<", " ").trim(), givenNames: given.replaceAll("<", " ").trim() };
}

export function parseMachineReadableZone(
  input: string,
  today = new Date().toISOString().slice(0, 10),
): MachineReadableZone {
  const lines = input
    .toUpperCase()
    .split(/\r?\n/)
    .map((line) => line.replace(/\s+/g, ""))
    .filter(Boolean);
  if (lines.length === 2 && lines.every((line) => line.length === 44)) return parseTd3(lines, today);
  if (lines.length === 3 && lines.every((line) => line.length === 30)) return parseTd1(lines, today);
  throw InvalidInputError.field(
    "machineReadableZone",
    "must be the two lines of 44 characters at the foot of a passport's photo page, or the three lines of 30 on an identity card",
  );
}

function parseTd3([first, second]: string[], today: string): MachineReadableZone {
  const line1 = first as string;
  const line2 = second as string;
  if (!line1.startsWith("P")) throw InvalidInputError.field("machineReadableZone", "is not a passport's");
  verify("passport number", line2.slice(0, 9), line2[9] as string);
  verify("date of birth", line2.slice(13, 19), line2[19] as string);
  verify("expiry date", line2.slice(21, 27), line2[27] as string);
  verify("personal number", line2.slice(28, 42), line2[42] as string);
  verify("whole zone", line2.slice(0, 10) + line2.slice(13, 20) + line2.slice(21, 43), line2[43] as string);
  return {
    format: "TD3",
    documentCode: line1.slice(0, 2).replaceAll("<", ""),
    issuingState: line1.slice(2, 5),
    ...namesOf(line1.slice(5)),
    documentNumber: line2.slice(0, 9).replaceAll("<", ""),
    nationality: line2.slice(10, 13),
    dateOfBirth: dateOf("date of birth", line2.slice(13, 19), "birth", today),
    expiresOn: dateOf("expiry date", line2.slice(21, 27), "expiry", today),
  };
}

function parseTd1([first, second, third]: string[], today: string): MachineReadableZone {
  const line1 = first as string;
  const line2 = second as string;
  verify("document number", line1.slice(5, 14), line1[14] as string);
  verify("date of birth", line2.slice(0, 6), line2[6] as string);
  verify("expiry date", line2.slice(8, 14), line2[14] as string);
  verify(
    "whole zone",
    line1.slice(5, 30) + line2.slice(0, 7) + line2.slice(8, 15) + line2.slice(18, 29),
    line2[29] as string,
  );
  return {
    format: "TD1",
    documentCode: line1.slice(0, 2).replaceAll("<", ""),
    issuingState: line1.slice(2, 5),
    ...namesOf(third as string),
    documentNumber: line1.slice(5, 14).replaceAll("<", ""),
    nationality: line2.slice(15, 18),
    dateOfBirth: dateOf("date of birth", line2.slice(0, 6), "birth", today),
    expiresOn: dateOf("expiry date", line2.slice(8, 14), "expiry", today),
  };
}

/** A name as the zone writes it (A to Z, other characters as spaces), for comparing. */
export function zoneName(name: string): string {
  return name
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toUpperCase()
    .replace(/[^A-Z]+/g, " ")
    .trim();
}

/** A TD3 zone for a passport: what a test (or a demo) needs to write one with true check digits. */
export function passportZone(details: {
  issuingState: string;
  familyName: string;
  givenNames: string;
  documentNumber: string;
  nationality: string;
  dateOfBirth: string;
  sex: "M" | "F" | "<";
  expiresOn: string;
}): string {
  const yymmdd = (date: string) => date.slice(2, 4) + date.slice(5, 7) + date.slice(8, 10);
  const names = `${zoneName(details.familyName).replaceAll(" ", "<")}<<${zoneName(details.givenNames).replaceAll(" ", "<")}`;
  const line1 = `P<${details.issuingState}${names}`.padEnd(44, "<").slice(0, 44);
  const number = details.documentNumber.padEnd(9, "<");
  const birth = yymmdd(details.dateOfBirth);
  const expiry = yymmdd(details.expiresOn);
  const personal = "<".repeat(14);
  const body = `${number}${checkDigit(number)}${details.nationality}${birth}${checkDigit(birth)}${details.sex}${expiry}${checkDigit(expiry)}${personal}<`;
  const composite = body.slice(0, 10) + body.slice(13, 20) + body.slice(21, 43);
  return `${line1}\n${body}${checkDigit(composite)}`;
}
