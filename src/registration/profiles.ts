import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, type FieldProblem, InvalidInputError } from "../errors.ts";
import { checkNewPerson, createPerson, getPerson, type NewPerson, type Person } from "../people/people.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, authorised, recordAction } from "./acting.ts";
import { type Assignment, assignmentsOfPerson } from "./assignments.ts";
import { type Authenticator, authenticatorsOf } from "./authenticators.ts";
import { checkIdentityChecks, type IdentityChecks, type IdentityChecksInput } from "./identity-checks.ts";
import { authorise } from "./policy.ts";

export type NewProfile = NewPerson &
  ActionCommon & {
    /** The organisation whose RA creates the profile. */
    odsCode?: unknown;
    identityChecks?: IdentityChecksInput;
    /** Profiles the RA has looked at and confirmed are someone else (same name and birth date). */
    notDuplicateOf?: unknown;
  };

/** Runs each check and gathers every field problem, so the RA hears about all of them at once. */
function gatherProblems<T>(problems: FieldProblem[], check: () => T): T | undefined {
  try {
    return check();
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    problems.push(...error.problems);
    return undefined;
  }
}

/**
 * Creates a verified profile (identity assurance level 3) after the RA's face-to-face checks,
 * refusing a likely duplicate: the same National Insurance number or professional registration,
 * or the same name and date of birth unless the RA has confirmed that one is someone else.
 */
export async function createProfile(queryable: Queryable, actor: Actor, input: NewProfile): Promise<Person> {
  const problems: FieldProblem[] = [];
  const odsCode = String(input.odsCode ?? "").toUpperCase();
  if (!/^[A-Z0-9]{3,10}$/.test(odsCode)) problems.push({ field: "odsCode", message: "must be an ODS code" });
  const person = gatherProblems(problems, () =>
    checkNewPerson({ ...input, identityAssuranceLevel: 3, identityEvidence: { method: "face-to-face" } }),
  );
  if (!person?.dateOfBirth && person)
    problems.push({ field: "dateOfBirth", message: "is required for a verified profile" });
  const checks = person && gatherProblems(problems, () => checkIdentityChecks(input.identityChecks, person));
  if (problems.length > 0 || !person || !checks) throw new InvalidInputError(problems);
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "profile.create", { ods: odsCode }, input);
    await refuseLikelyDuplicate(tx, person, input.notDuplicateOf);
    const created = await createPerson(tx, acting, {
      ...input,
      identityAssuranceLevel: 3,
      identityEvidence: evidenceRecord(checks, acting, odsCode),
    });
    await tx
      .updateTable("people")
      .set({ registering_ods_code: odsCode })
      .where("uuid", "=", created.uuid)
      .execute();
    await recordAction(
      tx,
      acting,
      {
        action: "profile.identity-verified",
        subject: { type: "person", id: created.uuid },
        after: { odsCode, documents: checks.documents.map((document) => document.kind) },
      },
      input,
    );
    return getPerson(tx, created.uuid);
  });
}

function evidenceRecord(checks: IdentityChecks, acting: Actor, odsCode: string) {
  return {
    method: "face-to-face",
    documents: checks.documents,
    confirmedBy: acting.id,
    confirmedInPosition: acting.roleId ?? null,
    confirmedAt: new Date().toISOString(),
    odsCode,
  };
}

async function refuseLikelyDuplicate(
  tx: Tx,
  person: { givenName: string; familyName: string; dateOfBirth: string | null },
  notDuplicateOf: unknown,
): Promise<void> {
  const dismissed = Array.isArray(notDuplicateOf) ? notDuplicateOf.map(String) : [];
  const same = await tx
    .selectFrom("people")
    .select("uuid")
    .where(sql<boolean>`lower(family_name) = lower(${person.familyName})`)
    .where(sql<boolean>`lower(given_name) = lower(${person.givenName})`)
    .where("date_of_birth", "=", person.dateOfBirth)
    .execute();
  const undismissed = same.filter((row) => !dismissed.includes(row.uuid));
  if (undismissed.length > 0)
    throw new ConflictError(
      `duplicate: ${undismissed.map((row) => row.uuid).join(", ")} has the same name and date of birth; check it is not the same person`,
      "duplicate",
    );
}

export type ProfileSearch = {
  /** A family name prefix, or "given family" prefixes. */
  name?: string;
  uuid?: string;
  email?: string;
  niNumber?: string;
  /** People with a current position at this organisation. */
  odsCode?: string;
};

export type ProfileSummary = Pick<
  Person,
  "uuid" | "title" | "givenName" | "middleNames" | "familyName" | "dateOfBirth" | "email" | "status"
>;

function likePrefix(text: string): string {
  return `${text.toLowerCase().replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/** Finds profiles by any one criterion, by family name, a page at a time (everyone signed in). */
export async function findProfiles(
  queryable: Queryable,
  actorUuid: string,
  search: ProfileSearch,
  page: { limit?: number; offset?: number } = {},
): Promise<ProfileSummary[]> {
  await authorise(queryable, actorUuid, "profile.find", {});
  let query = queryable
    .selectFrom("people")
    .select([
      "uuid",
      "title",
      "given_name",
      "middle_names",
      "family_name",
      "date_of_birth",
      "email",
      "status",
    ]);
  const name = search.name?.trim().replace(/\s+/g, " ");
  if (name) {
    const words = name.split(" ");
    const family = words.length > 1 ? words.slice(1).join(" ") : name;
    query = query.where(sql<boolean>`lower(family_name) COLLATE "C" LIKE ${likePrefix(family)}`);
    if (words.length > 1)
      query = query.where(sql<boolean>`lower(given_name) COLLATE "C" LIKE ${likePrefix(words[0] as string)}`);
  }
  if (search.uuid !== undefined) {
    if (!isCareIdentifier(search.uuid.trim())) throw InvalidInputError.field("uuid", "must be 12 digits");
    query = query.where("uuid", "=", search.uuid.trim());
  }
  if (search.email) query = query.where(sql<boolean>`lower(email) = ${search.email.trim().toLowerCase()}`);
  if (search.niNumber)
    query = query.where("ni_number", "=", search.niNumber.replace(/\s+/g, "").toUpperCase());
  if (search.odsCode) {
    const today = new Date().toISOString().slice(0, 10);
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom("positions as p")
          .select("p.role_profile_id")
          .whereRef("p.uuid", "=", "people.uuid")
          .where("p.ods_code", "=", search.odsCode?.toUpperCase() ?? "")
          .where("p.status", "=", "active")
          .where("p.start_date", "<=", today)
          .where((inner) => inner.or([inner("p.end_date", "is", null), inner("p.end_date", ">=", today)])),
      ),
    );
  }
  if (!name && !search.uuid && !search.email && !search.niNumber && !search.odsCode)
    throw InvalidInputError.field(
      "search",
      "give a name, UUID, email, National Insurance number or organisation",
    );
  const rows = await query
    .orderBy(sql`lower(family_name) COLLATE "C"`)
    .orderBy(sql`lower(given_name) COLLATE "C"`)
    .orderBy("uuid")
    .limit(Math.min(Math.max(page.limit ?? 50, 1), 200))
    .offset(Math.max(page.offset ?? 0, 0))
    .execute();
  return rows.map((row) => ({
    uuid: row.uuid,
    title: row.title,
    givenName: row.given_name,
    middleNames: row.middle_names,
    familyName: row.family_name,
    dateOfBirth: row.date_of_birth,
    email: row.email,
    status: row.status,
  }));
}

export type HistoryEntry = {
  at: Date;
  action: string;
  actorId: string | null;
  actorRoleId: string | null;
  reason: string | null;
  source: string;
};

export type ProfileDetails = {
  person: Person;
  registeringOdsCode: string | null;
  assignments: Assignment[];
  authenticators: Authenticator[];
  history: HistoryEntry[];
};

/** A profile as an RA views it: details, assignments, authenticators and its last 100 events. */
export async function profileDetails(
  queryable: Queryable,
  actorUuid: string,
  uuid: string,
): Promise<ProfileDetails> {
  await authorise(queryable, actorUuid, "profile.find", { uuid });
  const person = await getPerson(queryable, uuid);
  const registering = await queryable
    .selectFrom("people")
    .select("registering_ods_code")
    .where("uuid", "=", uuid)
    .executeTakeFirstOrThrow();
  const assignments = await assignmentsOfPerson(queryable, uuid);
  const subjects = [
    uuid,
    ...assignments.flatMap((assignment) => [assignment.assignmentId, ...assignment.roleProfileIds]),
  ];
  const history = await queryable
    .selectFrom("audit_events")
    .select(["at", "action", "actor_id", "actor_role_id", "reason", "source"])
    .where("subject_id", "in", subjects)
    .orderBy("seq", "desc")
    .limit(100)
    .execute();
  return {
    person,
    registeringOdsCode: registering.registering_ods_code,
    assignments,
    authenticators: await authenticatorsOf(queryable, uuid),
    history: history.map((event) => ({
      at: event.at,
      action: event.action,
      actorId: event.actor_id,
      actorRoleId: event.actor_role_id,
      reason: event.reason,
      source: event.source,
    })),
  };
}
