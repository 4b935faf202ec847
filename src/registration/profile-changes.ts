import type { Actor } from "../audit/actor.ts";
import { ConflictError, InvalidInputError, Problems } from "../errors.ts";
import {
  changePersonDetails,
  getPerson,
  type NewPerson,
  type Person,
  type PersonDetailColumns,
} from "../people/people.ts";
import {
  checkDateOfBirth,
  checkEmail,
  checkMobile,
  checkName,
  checkNiNumber,
  checkTitle,
} from "../people/validation.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, authorised, recordAction, requiredReason } from "./acting.ts";
import { type Directness, doOrRequest, type Outcome } from "./requests.ts";

export type DetailChanges = Pick<
  NewPerson,
  "title" | "givenName" | "middleNames" | "familyName" | "dateOfBirth" | "niNumber" | "email" | "mobile"
>;

const columns = {
  title: "title",
  givenName: "given_name",
  middleNames: "middle_names",
  familyName: "family_name",
  dateOfBirth: "date_of_birth",
  niNumber: "ni_number",
  email: "email",
  mobile: "mobile",
} as const;
type Field = keyof typeof columns;
/** The details a change of details may name. */
export const detailFields = Object.keys(columns) as Field[];
const nameFields: readonly Field[] = ["title", "givenName", "middleNames", "familyName"];

/** Self-service emails must be at one of these domains (or below them). */
const selfServiceEmailDomains = ["nhs.net", "nhs.uk", "gov.uk", "mod.uk", "nhs.scot", "hscni.net"];

function checkChanges(changes: DetailChanges): Partial<Record<Field, string | null>> {
  const problems = new Problems();
  const checked: Partial<Record<Field, string | null>> = {};
  const given = (field: Field) => Object.hasOwn(changes, field) && changes[field] !== undefined;
  if (given("title")) checked.title = checkTitle(problems, changes.title);
  if (given("givenName")) checked.givenName = checkName(problems, "givenName", changes.givenName, true);
  if (given("middleNames"))
    checked.middleNames = checkName(problems, "middleNames", changes.middleNames, false);
  if (given("familyName")) checked.familyName = checkName(problems, "familyName", changes.familyName, true);
  if (given("dateOfBirth")) checked.dateOfBirth = checkDateOfBirth(problems, changes.dateOfBirth);
  if (given("niNumber")) checked.niNumber = checkNiNumber(problems, changes.niNumber);
  if (given("email")) checked.email = checkEmail(problems, changes.email);
  if (given("mobile")) checked.mobile = checkMobile(problems, changes.mobile);
  if (Object.keys(checked).length === 0) problems.add("changes", "name at least one detail to change");
  problems.throwIfAny();
  return checked;
}

/** Only what differs from the profile, as profile fields. */
function differences(person: Person, checked: Partial<Record<Field, string | null>>) {
  return Object.fromEntries(
    Object.entries(checked).filter(([field, value]) => (person[field as Field] ?? null) !== value),
  ) as Partial<Record<Field, string | null>>;
}

async function applyChanges(
  tx: Tx,
  acting: Actor,
  person: Person,
  changed: Partial<Record<Field, string | null>>,
  common: ActionCommon,
): Promise<Person> {
  const set = Object.fromEntries(
    Object.entries(changed).map(([field, value]) => [columns[field as Field], value]),
  );
  await changePersonDetails(tx, person.uuid, set as PersonDetailColumns);
  const before = Object.fromEntries(Object.keys(changed).map((field) => [field, person[field as Field]]));
  await recordAction(
    tx,
    acting,
    {
      action: "profile.details-changed",
      subject: { type: "person", id: person.uuid },
      before,
      after: changed,
    },
    common,
  );
  return getPerson(tx, person.uuid);
}

/**
 * Changes personal or contact details. A change of name needs a reason. A sponsor's change
 * becomes a request for an RA to approve.
 */
export async function changeDetails(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & Directness & { uuid: string; changes: DetailChanges },
): Promise<Outcome<Person>> {
  if (!isCareIdentifier(input.uuid))
    throw InvalidInputError.field("uuid", "must be a 12-digit Care Identity UUID");
  const checked = checkChanges(input.changes ?? {});
  return inTransaction(queryable, async (tx) => {
    const person = await getPerson(tx, input.uuid);
    if (person.status === "closed")
      throw new ConflictError(`uuid: profile ${input.uuid} is closed; reopen it first`, "uuid");
    const changed = differences(person, checked);
    if (Object.keys(changed).length === 0)
      throw InvalidInputError.field("changes", "nothing differs from the profile");
    if (nameFields.some((field) => field in changed)) requiredReason(input, "to change a name");
    return doOrRequest(
      tx,
      actor,
      "profile.change-details",
      { uuid: input.uuid },
      input,
      { subjectUuid: input.uuid, details: { changes: changed } },
      (acting) => applyChanges(tx, acting, person, changed, input),
    );
  });
}

/** A person changes their own email or mobile; a new email must be at an allowed domain. */
export async function changeOwnContact(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & { email?: unknown; mobile?: unknown },
): Promise<Person> {
  const checked = checkChanges({ email: input.email, mobile: input.mobile });
  const domain = checked.email?.split("@")[1] ?? "";
  if (
    checked.email &&
    !selfServiceEmailDomains.some((allowed) => domain === allowed || domain.endsWith(`.${allowed}`))
  )
    throw InvalidInputError.field("email", `must be at one of ${selfServiceEmailDomains.join(", ")}`);
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "profile.change-own-contact", { uuid: actor.id }, input);
    const person = await getPerson(tx, actor.id);
    const changed = differences(person, checked);
    if (Object.keys(changed).length === 0) return person;
    return applyChanges(tx, acting, person, changed, input);
  });
}
