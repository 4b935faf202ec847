import { zoneName } from "./machine-readable-zone.ts";

/**
 * The structure of a GB driving licence number (DVLA): the first five letters of the surname
 * (padded with 9), the decade digit of the year of birth, the month of birth (plus 50 for some
 * holders), the day, the year's last digit, two initials (padded with 9), then three more
 * characters. What can be compared with what the applicant typed is compared.
 */
export function drivingLicenceProblems(
  number: string,
  person: { familyName: string; givenName: string; middleNames: string | null; dateOfBirth: string },
): string[] {
  const licence = number.replace(/\s+/g, "").toUpperCase();
  if (!/^[A-Z9]{5}\d{6}[A-Z9]{2}\d[A-Z0-9]{2}$/.test(licence))
    return ["the licence number is not 16 characters in the DVLA's pattern"];
  const problems: string[] = [];
  const surname = zoneName(person.familyName)
    .replace(/^MAC/, "MC")
    .replace(/ /g, "")
    .slice(0, 5)
    .padEnd(5, "9");
  if (licence.slice(0, 5) !== surname) problems.push(`it does not begin with the surname (${surname})`);
  const [year, month, day] = person.dateOfBirth.split("-") as [string, string, string];
  const licenceMonth = Number(licence.slice(6, 8));
  if (licence[5] !== year[2] || licence[10] !== year[3])
    problems.push("the year of birth in it does not match");
  if (licenceMonth !== Number(month) && licenceMonth !== Number(month) + 50)
    problems.push("the month of birth in it does not match");
  if (licence.slice(8, 10) !== day) problems.push("the day of birth in it does not match");
  const initials = [person.givenName, person.middleNames ?? ""]
    .map((name) => zoneName(name).slice(0, 1))
    .join("")
    .padEnd(2, "9");
  if (licence.slice(11, 13) !== initials) problems.push(`the initials in it are not ${initials}`);
  return problems;
}
