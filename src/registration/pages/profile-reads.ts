import { Problems } from "../../errors.ts";
import { checkIsoDate, checkNiNumber } from "../../people/validation.ts";
import { odsCodePattern } from "../../rbac/organisations.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";
import type { ProfileSearch } from "../profiles.ts";
import { dateFrom } from "./form-actions.ts";

/**
 * The find-a-profile form as a search: each box checked with a message that says what to type,
 * so the RA sees every mistake at once in the error summary.
 */
export function searchFromForm(input: Record<string, unknown>): ProfileSearch {
  const text = (field: string) => (typeof input[field] === "string" ? (input[field] as string).trim() : "");
  const form = Object.fromEntries(Object.keys(input).map((field) => [field, text(field)]));
  const search = {
    name: text("name"),
    uuid: text("uuid"),
    email: text("email"),
    niNumber: text("niNumber").toUpperCase().replaceAll(" ", ""),
    dateOfBirth: dateFrom(form, "dateOfBirth") ?? "",
    odsCode: text("odsCode").toUpperCase(),
  };
  const problems = new Problems();
  if (!Object.values(search).some(Boolean))
    problems.add(
      "name",
      "Enter a name, UUID, email address, National Insurance number, date of birth or organisation code",
    );
  if (search.uuid && !isCareIdentifier(search.uuid))
    problems.add("uuid", "A UUID is 12 digits, like 555000000010");
  if (search.niNumber && checkNiNumber(new Problems(), search.niNumber) === null)
    problems.add("niNumber", "Enter a National Insurance number in the right format, like QQ 12 34 56 C");
  if (search.dateOfBirth && checkIsoDate(new Problems(), "dateOfBirth", search.dateOfBirth) === null)
    problems.add("dateOfBirth", "Enter a date of birth that is a real date, like 15 3 1984");
  if (search.odsCode && !odsCodePattern.test(search.odsCode))
    problems.add("odsCode", "An organisation code is 3 to 10 letters and digits, like RZZ");
  if (search.email && !search.email.includes("@")) problems.add("email", "Enter a whole email address");
  problems.throwIfAny();
  return Object.fromEntries(Object.entries(search).filter(([, value]) => value)) as ProfileSearch;
}
