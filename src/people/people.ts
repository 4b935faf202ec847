import { type Selectable, sql, type Updateable } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import { compiledOnce } from "../store/compiled.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier, nextIdentifier } from "../store/identifiers.ts";
import type { PeopleTable } from "../store/schema.ts";
import {
  checkAssuranceLevel,
  checkDateOfBirth,
  checkEmail,
  checkMobile,
  checkName,
  checkNiNumber,
  checkRegistrations,
  checkTitle,
  type Registration,
} from "./validation.ts";

export type PersonStatus = "active" | "suspended" | "closed";

export type Person = {
  uuid: string;
  title: string | null;
  givenName: string;
  middleNames: string | null;
  familyName: string;
  dateOfBirth: string | null;
  niNumber: string | null;
  email: string | null;
  mobile: string | null;
  identityAssuranceLevel: number;
  identityEvidence: Record<string, unknown>;
  registrations: Registration[];
  status: PersonStatus;
};

/** What a caller supplies to create a profile; checked field by field. */
export type NewPerson = {
  title?: unknown;
  givenName?: unknown;
  middleNames?: unknown;
  familyName?: unknown;
  dateOfBirth?: unknown;
  niNumber?: unknown;
  email?: unknown;
  mobile?: unknown;
  identityAssuranceLevel?: unknown;
  /** How identity was verified: method, documents seen, who checked. */
  identityEvidence?: unknown;
  registrations?: unknown;
};

export function checkNewPerson(input: NewPerson): Omit<Person, "uuid" | "status"> {
  const problems = new Problems();
  const person = {
    title: checkTitle(problems, input.title),
    givenName: checkName(problems, "givenName", input.givenName, true) ?? "",
    middleNames: checkName(problems, "middleNames", input.middleNames, false),
    familyName: checkName(problems, "familyName", input.familyName, true) ?? "",
    dateOfBirth: checkDateOfBirth(problems, input.dateOfBirth),
    niNumber: checkNiNumber(problems, input.niNumber),
    email: checkEmail(problems, input.email),
    mobile: checkMobile(problems, input.mobile),
    identityAssuranceLevel: checkAssuranceLevel(problems, input.identityAssuranceLevel),
    identityEvidence: checkEvidence(problems, input.identityEvidence),
    registrations: checkRegistrations(problems, input.registrations),
  };
  if (person.identityAssuranceLevel >= 2 && Object.keys(person.identityEvidence).length === 0) {
    problems.add("identityEvidence", "must say how identity was verified for assurance level 2 or 3");
  }
  problems.throwIfAny();
  return person;
}

function checkEvidence(problems: Problems, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    problems.add("identityEvidence", "must be an object describing the checks made");
    return {};
  }
  return value as Record<string, unknown>;
}

/** Creates a Care Identity profile with a newly allocated UUID. */
/**
 * Creates a profile. `registeringOdsCode` is the organisation whose RA verified the person's
 * identity: its RA staff keep authority over the profile (ra-policy/policy.ts).
 */
export async function createPerson(
  queryable: Queryable,
  actor: Actor,
  input: NewPerson,
  options: { registeringOdsCode?: string } = {},
): Promise<Person> {
  const checked = checkNewPerson(input);
  return inTransaction(queryable, async (tx) => {
    await refuseDuplicates(tx, checked);
    const uuid = await nextIdentifier(tx);
    await tx
      .insertInto("people")
      .values({
        uuid,
        title: checked.title,
        given_name: checked.givenName,
        middle_names: checked.middleNames,
        family_name: checked.familyName,
        date_of_birth: checked.dateOfBirth,
        ni_number: checked.niNumber,
        email: checked.email,
        mobile: checked.mobile,
        identity_assurance_level: checked.identityAssuranceLevel,
        identity_evidence: JSON.stringify(checked.identityEvidence),
        status: "active",
        ...(options.registeringOdsCode ? { registering_ods_code: options.registeringOdsCode } : {}),
      })
      .execute();
    if (checked.registrations.length > 0) {
      await tx
        .insertInto("professional_registrations")
        .values(checked.registrations.map((registration) => ({ uuid, ...registration })))
        .execute();
    }
    const person: Person = { uuid, ...checked, status: "active" };
    await recordEvent(tx, actor, {
      action: "person.created",
      subject: { type: "person", id: uuid },
      after: person,
    });
    return person;
  });
}

/** A National Insurance number is on one profile at most. */
async function refuseNiNumberElsewhere(tx: Tx, niNumber: string, uuid?: string): Promise<void> {
  let query = tx.selectFrom("people").select("uuid").where("ni_number", "=", niNumber);
  if (uuid) query = query.where("uuid", "!=", uuid);
  const holder = await query.executeTakeFirst();
  if (holder)
    throw new ConflictError(
      `niNumber: National Insurance number is already on profile ${holder.uuid}`,
      "niNumber",
    );
}

async function refuseDuplicates(tx: Tx, person: Omit<Person, "uuid" | "status">): Promise<void> {
  if (person.niNumber) await refuseNiNumberElsewhere(tx, person.niNumber);
  for (const registration of person.registrations) {
    const holder = await tx
      .selectFrom("professional_registrations")
      .select("uuid")
      .where("body", "=", registration.body)
      .where("number", "=", registration.number)
      .executeTakeFirst();
    if (holder) {
      throw new ConflictError(
        `registrations: ${registration.body} ${registration.number} is already on profile ${holder.uuid}`,
        "registrations",
      );
    }
  }
}

export async function getPerson(queryable: Queryable, uuid: string): Promise<Person> {
  if (!isCareIdentifier(uuid)) throw InvalidInputError.field("uuid", "must be 12 digits");
  const person = await findPerson(queryable, uuid);
  if (!person) throw new NotFoundError("person", `No Care Identity profile has UUID ${uuid}`);
  return person;
}

/** People with their registrations, for `personFromRow`; callers may select more beside them. */
export function personQuery(queryable: Queryable) {
  return queryable
    .selectFrom("people")
    .selectAll("people")
    .select(
      sql<
        Registration[]
      >`(SELECT coalesce(json_agg(json_build_object('body', r.body, 'number', r.number) ORDER BY r.body), '[]')
        FROM professional_registrations r WHERE r.uuid = people.uuid)`.as("registrations"),
    );
}

/**
 * The profile query compiled once and given each UUID as its parameter: it is the directory's
 * most frequent read (every FHIR Practitioner read), and building and compiling it with Kysely
 * each time cost about a tenth of the service's CPU for such a read.
 */
const personByUuid = compiledOnce(1, (queryable, uuid) => personQuery(queryable).where("uuid", "=", uuid));

/** The profile, with its registrations, in one query; undefined when there is none. */
export async function findPerson(queryable: Queryable, uuid: string): Promise<Person | undefined> {
  const { rows } = await personByUuid(queryable, uuid);
  const row = rows[0];
  return row ? personFromRow(row, row.registrations) : undefined;
}

/** What other capabilities read of a profile to check it or to reach its holder. */
export type PersonSummary = Pick<
  Person,
  "uuid" | "status" | "title" | "givenName" | "familyName" | "email" | "mobile"
>;

/**
 * The profile's status, name and contact details, without its registrations; undefined when
 * there is none. `forUpdate` holds the row to the end of the caller's transaction, so a status
 * checked there cannot change before it commits.
 */
export async function findPersonSummary(
  queryable: Queryable,
  uuid: string,
  options: { forUpdate?: boolean } = {},
): Promise<PersonSummary | undefined> {
  let query = queryable.selectFrom("people").select(summaryColumns).where("uuid", "=", uuid);
  if (options.forUpdate) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  return row ? summaryOf(row) : undefined;
}

/** The summaries of these people, for lists that name them. */
export async function personSummaries(
  queryable: Queryable,
  uuids: readonly string[],
): Promise<PersonSummary[]> {
  if (uuids.length === 0) return [];
  const rows = await queryable
    .selectFrom("people")
    .select(summaryColumns)
    .where("uuid", "in", uuids)
    .execute();
  return rows.map(summaryOf);
}

const summaryColumns = ["uuid", "status", "title", "given_name", "family_name", "email", "mobile"] as const;

function summaryOf(row: Pick<Selectable<PeopleTable>, (typeof summaryColumns)[number]>): PersonSummary {
  return {
    uuid: row.uuid,
    status: row.status,
    title: row.title,
    givenName: row.given_name,
    familyName: row.family_name,
    email: row.email,
    mobile: row.mobile,
  };
}

/** The columns of a profile a change of details may set. */
export type PersonDetailColumns = Pick<
  Updateable<PeopleTable>,
  "title" | "given_name" | "middle_names" | "family_name" | "date_of_birth" | "ni_number" | "email" | "mobile"
>;

/**
 * Writes checked changes of details in the caller's transaction, which audits them; a National
 * Insurance number already on another profile is refused.
 */
export async function changePersonDetails(tx: Tx, uuid: string, changes: PersonDetailColumns): Promise<void> {
  if (changes.ni_number) await refuseNiNumberElsewhere(tx, changes.ni_number, uuid);
  await tx
    .updateTable("people")
    .set({ ...changes, updated_at: new Date() })
    .where("uuid", "=", uuid)
    .execute();
}

export function personFromRow(row: Selectable<PeopleTable>, registrations: Registration[]): Person {
  return {
    uuid: row.uuid,
    title: row.title,
    givenName: row.given_name,
    middleNames: row.middle_names,
    familyName: row.family_name,
    dateOfBirth: row.date_of_birth,
    niNumber: row.ni_number,
    email: row.email,
    mobile: row.mobile,
    identityAssuranceLevel: row.identity_assurance_level,
    identityEvidence: row.identity_evidence,
    registrations,
    status: row.status,
  };
}

const statusChanges: Record<PersonStatus, PersonStatus[]> = {
  active: ["suspended", "closed"],
  suspended: ["active", "closed"],
  closed: ["active"],
};

/** A status change: the profile as it now is, and the positions (role profile ids) it ended. */
export type StatusChange = { person: Person; positionsEnded: string[] };

/**
 * Suspends, closes or reopens a profile. Closing ends every current position, as a leaver's
 * access must stop everywhere at once; reopening restores the profile but not its positions.
 */
export async function changePersonStatus(
  queryable: Queryable,
  actor: Actor,
  uuid: string,
  status: PersonStatus,
  reason: string,
): Promise<StatusChange> {
  if (!reason?.trim()) throw InvalidInputError.field("reason", "is required to change a profile's status");
  return inTransaction(queryable, async (tx) => {
    const person = await getPerson(tx, uuid);
    if (!statusChanges[person.status].includes(status)) {
      throw new ConflictError(`status: a ${person.status} profile cannot become ${status}`, "status");
    }
    // closed_at starts the clock of what is kept after a profile closes; reopening stops it.
    const closedAt =
      status === "closed" ? { closed_at: new Date() } : status === "active" ? { closed_at: null } : {};
    await tx
      .updateTable("people")
      .set({ status, ...closedAt, updated_at: new Date() })
      .where("uuid", "=", uuid)
      .execute();
    let positionsEnded: string[] = [];
    if (status === "closed") {
      const ended = await tx
        .updateTable("positions")
        .set({
          status: "ended",
          end_date: sql<string>`greatest(start_date, current_date)`,
          updated_at: new Date(),
        })
        .where("uuid", "=", uuid)
        .where("status", "=", "active")
        .returning("role_profile_id")
        .execute();
      positionsEnded = ended.map((position) => position.role_profile_id);
    }
    await recordEvent(tx, actor, {
      action: `person.${status === "active" ? "reopened" : status}`,
      subject: { type: "person", id: uuid },
      before: { status: person.status },
      after: { status },
      reason,
    });
    return { person: { ...person, status }, positionsEnded };
  });
}
