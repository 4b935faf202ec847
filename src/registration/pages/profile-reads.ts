import { Problems } from "../../errors.ts";
import { checkIsoDate, checkNiNumber } from "../../people/validation.ts";
import { odsCodePattern } from "../../rbac/organisations.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";
import type { SearchCriterion } from "../profile-view.ts";
import type { ProfileSearch } from "../profiles.ts";
import { dateFrom } from "./form-actions.ts";

const niNumberPattern = /^[A-Z]{2}\d{6}[A-D]$/;

/**
 * What one search box holds: a UUID (12 digits, spaces allowed, as printed "5550 0000 0032"),
 * an email address, a National Insurance number, or otherwise a name in either order.
 */
export function criterionOf(text: string): { criterion: SearchCriterion; value: string } {
  const squeezed = text.replace(/\s+/g, "").toUpperCase();
  if (/^\d+$/.test(squeezed)) return { criterion: "uuid", value: squeezed };
  if (text.includes("@")) return { criterion: "email", value: text.trim() };
  if (niNumberPattern.test(squeezed)) return { criterion: "niNumber", value: squeezed };
  return { criterion: "name", value: text.trim() };
}

const criterionWords: Record<SearchCriterion, string> = {
  name: "name",
  uuid: "UUID",
  email: "email address",
  niNumber: "National Insurance number",
  dateOfBirth: "date of birth",
  odsCode: "organisation code",
};

/**
 * The one search box as a search, refused with a message on the box when it holds what this
 * viewer may not search by (profile-fields.json decides, as for the separate boxes).
 */
export function searchFromBox(
  input: Record<string, unknown>,
  allowed: Partial<Record<SearchCriterion, boolean>>,
): Record<string, unknown> {
  const text = typeof input.q === "string" ? input.q.trim() : "";
  if (!text) return input;
  const { criterion, value } = criterionOf(text);
  const problems = new Problems();
  if (!allowed[criterion])
    problems.add(
      "q",
      `You cannot search by ${criterionWords[criterion]}: only Registration Authority staff whose role covers a person can. Search by name or UUID`,
    );
  else if (criterion === "uuid" && !isCareIdentifier(value))
    problems.add("q", "A UUID is 12 digits, like 5550 0000 0010");
  problems.throwIfAny();
  const { q: _box, ...rest } = input;
  return { ...rest, [criterion]: value };
}

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
    problems.add("q", "Enter a name, UUID, email address or National Insurance number to search for");
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
