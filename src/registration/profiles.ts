import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, type FieldProblem, ForbiddenError, InvalidInputError, Problems } from "../errors.ts";
import { checkNewPerson, createPerson, getPerson, type NewPerson, type Person } from "../people/people.ts";
import { checkIsoDate } from "../people/validation.ts";
import { authorise, personWithin } from "../ra-policy/policy.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, authorised, recordAction } from "./acting.ts";
import { type Assignment, assignmentsOfPerson } from "./assignments.ts";
import { authenticatorsOf } from "./authenticators.ts";
import {
  checkIdentityChecks,
  type IdentityChecks,
  type IdentityChecksInput,
  type IdentityDocument,
} from "./identity-checks.ts";
import {
  type Audience,
  audiencesFor,
  fieldsSeenBy,
  type HistoryEntry,
  type ProfileField,
  type ProfileView,
  projectProfile,
  type SearchCriterion,
  searchReach,
} from "./profile-view.ts";
import { cardsOf } from "./smartcards.ts";

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
 * Identity verified remotely through Apply for Care ID (src/apply/) and reviewed by an ID checker
 * instead of seen face to face. Only the approval of an application passes it, never a form.
 */
export type RemoteVerification = {
  applicationId: string;
  identityAssuranceLevel: 2 | 3;
  documents: IdentityDocument[];
};

/**
 * Creates a verified profile (identity assurance level 3) after the RA's face-to-face checks,
 * or at the level an approved Apply for Care ID application earned, refusing a likely duplicate:
 * the same National Insurance number or professional registration, or the same name and date of
 * birth unless the RA has confirmed that one is someone else.
 */
export async function createProfile(
  queryable: Queryable,
  actor: Actor,
  input: NewProfile,
  remote?: RemoteVerification,
): Promise<Person> {
  const problems: FieldProblem[] = [];
  const odsCode = String(input.odsCode ?? "").toUpperCase();
  const level = remote?.identityAssuranceLevel ?? 3;
  const method = remote ? "apply-for-care-id" : "face-to-face";
  if (!/^[A-Z0-9]{3,10}$/.test(odsCode)) problems.push({ field: "odsCode", message: "must be an ODS code" });
  const person = gatherProblems(problems, () =>
    checkNewPerson({ ...input, identityAssuranceLevel: level, identityEvidence: { method } }),
  );
  if (!person?.dateOfBirth && person)
    problems.push({ field: "dateOfBirth", message: "is required for a verified profile" });
  const checks = remote
    ? { documents: remote.documents, confirmed: true }
    : person && gatherProblems(problems, () => checkIdentityChecks(input.identityChecks, person));
  if (problems.length > 0 || !person || !checks) throw new InvalidInputError(problems);
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "profile.create", { ods: odsCode }, input);
    await refuseLikelyDuplicate(tx, person, input.notDuplicateOf);
    const created = await createPerson(
      tx,
      acting,
      {
        ...input,
        identityAssuranceLevel: level,
        identityEvidence: {
          ...evidenceRecord(checks, acting, odsCode),
          method,
          ...(remote ? { applicationId: remote.applicationId } : {}),
        },
      },
      { registeringOdsCode: odsCode },
    );
    await recordAction(
      tx,
      acting,
      {
        action: "profile.identity-verified",
        subject: { type: "person", id: created.uuid },
        after: { odsCode, method, documents: checks.documents.map((document) => document.kind) },
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
  /** A family name prefix, or given and family name prefixes in either order. */
  name?: string;
  uuid?: string;
  email?: string;
  niNumber?: string;
  /** A date, YYYY-MM-DD. */
  dateOfBirth?: string;
  /** People with a current position at this organisation. */
  odsCode?: string;
};

/** A search result: what the viewer may see of these fields (profile-fields.json). */
export type ProfileSummary = Partial<
  Pick<
    Person,
    "uuid" | "title" | "givenName" | "middleNames" | "familyName" | "dateOfBirth" | "email" | "status"
  >
>;

function likePrefix(text: string): string {
  return `${text.toLowerCase().replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

/**
 * Finds profiles by the criteria given (all must match), by family name, a page at a time.
 * Everyone signed in may search by name, UUID or organisation; a criterion only RA roles see
 * (email, NI number, date of birth) needs such a role and finds only people it covers. Each
 * result shows what its viewer may see.
 */
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
    const family = (text: string) => sql<boolean>`lower(family_name) COLLATE "C" LIKE ${likePrefix(text)}`;
    const given = (text: string) => sql<boolean>`lower(given_name) COLLATE "C" LIKE ${likePrefix(text)}`;
    // One word is the start of a family name; more are a given and family name in either
    // order ("Tunde Adebayo", "Adebayo Tunde"), or a family name of several words.
    query =
      words.length === 1
        ? query.where(family(name))
        : query.where((eb) =>
            eb.or([
              eb.and([given(words[0] as string), family(words.slice(1).join(" "))]),
              eb.and([family(words.slice(0, -1).join(" ")), given(words.at(-1) as string)]),
              family(name),
            ]),
          );
  }
  if (search.uuid !== undefined) {
    if (!isCareIdentifier(search.uuid.trim())) throw InvalidInputError.field("uuid", "must be 12 digits");
    query = query.where("uuid", "=", search.uuid.trim());
  }
  if (search.email) query = query.where(sql<boolean>`lower(email) = ${search.email.trim().toLowerCase()}`);
  if (search.niNumber)
    query = query.where("ni_number", "=", search.niNumber.replace(/\s+/g, "").toUpperCase());
  if (search.dateOfBirth) {
    const problems = new Problems();
    const date = checkIsoDate(problems, "dateOfBirth", search.dateOfBirth.trim());
    problems.throwIfAny();
    query = query.where("date_of_birth", "=", date);
  }
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
  const criteria = (Object.keys(search) as SearchCriterion[]).filter((criterion) => search[criterion]);
  if (criteria.length === 0)
    throw InvalidInputError.field(
      "search",
      "give a name, UUID, email, National Insurance number, date of birth or organisation",
    );
  const reach = await searchReach(queryable, actorUuid, criteria);
  if (!reach.includes("*")) query = query.where(personWithin(reach));
  const rows = await query
    .orderBy(sql`lower(family_name) COLLATE "C"`)
    .orderBy(sql`lower(given_name) COLLATE "C"`)
    .orderBy("uuid")
    .limit(Math.min(Math.max(page.limit ?? 50, 1), 200))
    .offset(Math.max(page.offset ?? 0, 0))
    .execute();
  const audiences = await audiencesFor(
    queryable,
    actorUuid,
    rows.map((row) => row.uuid),
  );
  return rows.map((row) =>
    projectProfile(audiences.get(row.uuid) as Audience, {
      uuid: row.uuid,
      title: row.title,
      givenName: row.given_name,
      middleNames: row.middle_names,
      familyName: row.family_name,
      dateOfBirth: row.date_of_birth,
      email: row.email,
      status: row.status,
    }),
  );
}

export type ProfileDetails = ProfileView<Assignment>;

/**
 * A profile as its viewer may see it (profile-fields.json): details, positions,
 * authenticators, smartcards and its last 100 events, each only where the viewer's audience
 * sees it; the parts hidden are not even read, nor the others when `only` names one part.
 */
export async function profileDetails(
  queryable: Queryable,
  actorUuid: string,
  uuid: string,
  only?: ProfilePart,
): Promise<Partial<ProfileDetails>> {
  await authorise(queryable, actorUuid, "profile.find", { uuid });
  const person = await getPerson(queryable, uuid);
  const audience = (await audiencesFor(queryable, actorUuid, [uuid])).get(uuid) as Audience;
  const visible = fieldsSeenBy(audience);
  const seen = { has: (part: ProfileField) => visible.has(part) && (only === undefined || only === part) };
  const registering = await queryable
    .selectFrom("people")
    .select("registering_ods_code")
    .where("uuid", "=", uuid)
    .executeTakeFirstOrThrow();
  const assignments = await assignmentsOfPerson(queryable, uuid);
  return projectProfile(audience, {
    ...person,
    registeringOdsCode: registering.registering_ods_code,
    positions: assignments,
    authenticators: seen.has("authenticators") ? await authenticatorsOf(queryable, uuid) : undefined,
    smartcards: seen.has("smartcards") ? await cardsOf(queryable, uuid) : undefined,
    history: seen.has("history") ? await historyOf(queryable, uuid, assignments) : undefined,
  });
}

/** The last 100 events about a person, their assignments and role profiles, newest first. */
async function historyOf(
  queryable: Queryable,
  uuid: string,
  assignments: Assignment[],
): Promise<HistoryEntry[]> {
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
  return history.map((event) => ({
    at: event.at,
    action: event.action,
    actorId: event.actor_id,
    actorRoleId: event.actor_role_id,
    reason: event.reason,
    source: event.source,
  }));
}

type ProfilePart = "positions" | "authenticators" | "smartcards";

/** One part of a profile asked for on its own: refused when the viewer may not see it. */
export async function profilePart<Part extends ProfilePart>(
  queryable: Queryable,
  actorUuid: string,
  uuid: string,
  part: Part,
): Promise<NonNullable<ProfileDetails[Part]>> {
  const view = await profileDetails(queryable, actorUuid, uuid, part);
  const value = view[part];
  if (value === undefined)
    throw new ForbiddenError(`Only RA staff whose role covers this person may see their ${part}`);
  return value as NonNullable<ProfileDetails[Part]>;
}
