import { type RawBuilder, type Selectable, sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import { findPersonSummary } from "../people/people.ts";
import { checkIsoDate } from "../people/validation.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier, nextIdentifier } from "../store/identifiers.ts";
import type { PositionsTable } from "../store/schema.ts";
import type { CodeLists } from "./code-lists.ts";
import { effectiveActivities, type QualifiedJobRole, qualifyJobRole } from "./job-roles.ts";

/**
 * A position: a person's access at one organisation in one job role, with the activities,
 * workgroups and areas of work it carries, between a start and an optional end date. The
 * directory calls it a role profile; its 12-digit id is the CIS2 `person_roleid`. Over 400
 * lines because granting, ending and reading a position share its checks and its one query.
 */
export type Position = {
  roleProfileId: string;
  personOrgId: string;
  uuid: string;
  odsCode: string;
  organisationName: string;
  jobRole: QualifiedJobRole;
  /** Baseline plus added, with inclusions, as codes and names. */
  activities: { code: string; name: string }[];
  addedActivityCodes: string[];
  workgroups: { id: string; name: string }[];
  areasOfWork: { code: string; name: string }[];
  startDate: string;
  endDate: string | null;
  status: "active" | "ended";
};

export type NewPosition = {
  uuid?: unknown;
  odsCode?: unknown;
  jobRole?: unknown;
  activities?: unknown;
  workgroups?: unknown;
  areasOfWork?: unknown;
  startDate?: unknown;
  endDate?: unknown;
};

type CheckedPosition = {
  uuid: string;
  odsCode: string;
  jobRoleCode: string;
  addedActivityCodes: string[];
  workgroupIds: string[];
  areaOfWorkCodes: string[];
  startDate: string;
  endDate: string | null;
};

function codeList(
  problems: Problems,
  field: string,
  value: unknown,
  known: (code: string) => boolean,
): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((code) => typeof code !== "string")) {
    problems.add(field, "must be a list of codes");
    return [];
  }
  const unknown = value.filter((code) => !known(code));
  if (unknown.length > 0)
    problems.add(field, `unknown code${unknown.length > 1 ? "s" : ""} ${unknown.join(", ")}`);
  return [...new Set(value as string[])].sort();
}

function checkPosition(lists: CodeLists, input: NewPosition): CheckedPosition {
  const problems = new Problems();
  const uuid = String(input.uuid ?? "");
  if (!isCareIdentifier(uuid)) problems.add("uuid", "must be a 12-digit Care Identity UUID");
  const odsCode = String(input.odsCode ?? "").toUpperCase();
  if (!/^[A-Z0-9]{3,10}$/.test(odsCode))
    problems.add("odsCode", "must be an ODS code of 3 to 10 letters and digits");
  const jobRoleCode =
    String(input.jobRole ?? "")
      .split(":")
      .pop() ?? "";
  if (!lists.jobRoles.has(jobRoleCode))
    problems.add("jobRole", `"${input.jobRole}" is not a national RBAC job role code`);
  const position = {
    uuid,
    odsCode,
    jobRoleCode,
    addedActivityCodes: codeList(problems, "activities", input.activities, (code) =>
      lists.activities.has(code),
    ),
    workgroupIds: codeList(problems, "workgroups", input.workgroups, isCareIdentifier),
    areaOfWorkCodes: codeList(problems, "areasOfWork", input.areasOfWork, (code) =>
      lists.areasOfWork.has(code),
    ),
    startDate: checkIsoDate(problems, "startDate", input.startDate) ?? "",
    endDate: input.endDate == null ? null : checkIsoDate(problems, "endDate", input.endDate),
  };
  if (position.startDate && position.endDate && position.endDate < position.startDate) {
    problems.add("endDate", `must not be before the start date ${position.startDate}`);
  }
  problems.throwIfAny();
  return position;
}

/** Grants a position, creating the person's membership of the organisation on first use. */
export async function grantPosition(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  input: NewPosition,
): Promise<Position> {
  const position = checkPosition(lists, input);
  return inTransaction(queryable, async (tx) => {
    await checkPersonCanHold(tx, position.uuid);
    await checkOrganisationAndWorkgroups(tx, position);
    await refuseDuplicate(tx, position);
    const personOrgId = await membership(tx, position.uuid, position.odsCode);
    const roleProfileId = await nextIdentifier(tx);
    await tx
      .insertInto("positions")
      .values({
        role_profile_id: roleProfileId,
        person_orgid: personOrgId,
        uuid: position.uuid,
        ods_code: position.odsCode,
        job_role_code: position.jobRoleCode,
        added_activity_codes: position.addedActivityCodes,
        workgroup_ids: position.workgroupIds,
        area_of_work_codes: position.areaOfWorkCodes,
        start_date: position.startDate,
        end_date: position.endDate,
        status: "active",
      })
      .execute();
    const granted = await getPosition(tx, lists, roleProfileId);
    await recordEvent(tx, actor, {
      action: "position.granted",
      subject: { type: "position", id: roleProfileId },
      after: auditView(granted),
    });
    return granted;
  });
}

async function checkPersonCanHold(tx: Tx, uuid: string): Promise<void> {
  const person = await findPersonSummary(tx, uuid);
  if (!person) throw new NotFoundError("person", `uuid: no Care Identity profile has UUID ${uuid}`);
  if (person.status !== "active") {
    throw new ConflictError(
      `uuid: profile ${uuid} is ${person.status}; only an active profile can hold a position`,
      "uuid",
    );
  }
}

async function checkOrganisationAndWorkgroups(tx: Tx, position: CheckedPosition): Promise<void> {
  const organisation = await tx
    .selectFrom("organisations")
    .select("status")
    .where("ods_code", "=", position.odsCode)
    .executeTakeFirst();
  if (!organisation)
    throw new NotFoundError("organisation", `odsCode: no organisation has ODS code ${position.odsCode}`);
  if (organisation.status !== "active") {
    throw new ConflictError(`odsCode: ${position.odsCode} is not an active organisation`, "odsCode");
  }
  if (position.workgroupIds.length === 0) return;
  const found = await tx
    .selectFrom("workgroups")
    .select("id")
    .where("id", "in", position.workgroupIds)
    .where("ods_code", "=", position.odsCode)
    .execute();
  const missing = position.workgroupIds.filter((id) => !found.some((row) => row.id === id));
  if (missing.length > 0)
    throw InvalidInputError.field("workgroups", `${missing.join(", ")} not found at ${position.odsCode}`);
}

/**
 * The same access twice over is a duplicate: same organisation, job role, added activities,
 * workgroups and areas of work, with dates that overlap. Two positions with the same job role
 * but different workgroups are legitimate, as CIS2 relying parties see.
 */
async function refuseDuplicate(tx: Tx, position: CheckedPosition): Promise<void> {
  const far = "9999-12-31";
  const clash = await tx
    .selectFrom("positions")
    .select("role_profile_id")
    .where("uuid", "=", position.uuid)
    .where("ods_code", "=", position.odsCode)
    .where("job_role_code", "=", position.jobRoleCode)
    .where("status", "=", "active")
    .where(sql<boolean>`added_activity_codes = ${sql.val(position.addedActivityCodes)}::text[]`)
    .where(sql<boolean>`workgroup_ids = ${sql.val(position.workgroupIds)}::text[]`)
    .where(sql<boolean>`area_of_work_codes = ${sql.val(position.areaOfWorkCodes)}::text[]`)
    .where(
      sql<boolean>`daterange(start_date, coalesce(end_date, ${far}::date), '[]') && daterange(${position.startDate}::date, ${position.endDate ?? far}::date, '[]')`,
    )
    .executeTakeFirst();
  if (clash) {
    throw new ConflictError(
      `jobRole: the person already holds this position at ${position.odsCode} (role profile ${clash.role_profile_id}) for overlapping dates`,
      "jobRole",
    );
  }
}

async function membership(tx: Tx, uuid: string, odsCode: string): Promise<string> {
  const existing = await tx
    .selectFrom("person_organisations")
    .select("person_orgid")
    .where("uuid", "=", uuid)
    .where("ods_code", "=", odsCode)
    .executeTakeFirst();
  if (existing) return existing.person_orgid;
  const personOrgId = await nextIdentifier(tx);
  await tx
    .insertInto("person_organisations")
    .values({ person_orgid: personOrgId, uuid, ods_code: odsCode })
    .execute();
  return personOrgId;
}

/** Ends a position from a date (today by default); the start date never changes. */
export async function endPosition(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  roleProfileId: string,
  change: { endDate?: string; reason: string },
): Promise<Position> {
  const problems = new Problems();
  const endDate = checkIsoDate(problems, "endDate", change.endDate ?? new Date().toISOString().slice(0, 10));
  if (!change.reason?.trim()) problems.add("reason", "is required to end a position");
  problems.throwIfAny();
  return inTransaction(queryable, async (tx) => {
    const before = await getPosition(tx, lists, roleProfileId);
    if (before.status === "ended") throw new ConflictError(`position ${roleProfileId} has already ended`);
    if (endDate && endDate < before.startDate) {
      throw InvalidInputError.field("endDate", `must not be before the start date ${before.startDate}`);
    }
    await tx
      .updateTable("positions")
      .set({ end_date: endDate, status: "ended", updated_at: new Date() })
      .where("role_profile_id", "=", roleProfileId)
      .execute();
    const after = { ...before, endDate, status: "ended" as const };
    await recordEvent(tx, actor, {
      action: "position.ended",
      subject: { type: "position", id: roleProfileId },
      before: { endDate: before.endDate, status: before.status },
      after: { endDate, status: "ended" },
      reason: change.reason,
    });
    return after;
  });
}

export async function getPosition(
  queryable: Queryable,
  lists: CodeLists,
  roleProfileId: string,
): Promise<Position> {
  if (!isCareIdentifier(roleProfileId)) throw InvalidInputError.field("roleProfileId", "must be 12 digits");
  const [position] = await readPositions(queryable, lists, (query) =>
    query.where("p.role_profile_id", "=", roleProfileId),
  );
  if (!position) throw new NotFoundError("position", `No position has role profile id ${roleProfileId}`);
  return position;
}

/**
 * A person's positions. By default only current ones: active, started, and not past their
 * end date, which is what a relying party or the directory may act on.
 */
export async function positionsOfPerson(
  queryable: Queryable,
  lists: CodeLists,
  uuid: string,
  options: { includeEnded?: boolean; today?: string } = {},
): Promise<Position[]> {
  if (!isCareIdentifier(uuid)) throw InvalidInputError.field("uuid", "must be 12 digits");
  return readPositions(queryable, lists, (query) => {
    const mine = query.where("p.uuid", "=", uuid);
    return options.includeEnded ? mine : currentOnly(mine, options.today ?? isoToday());
  });
}

/** Active, started, and not past their end date. */
function currentOnly(query: PositionQuery, today: string): PositionQuery {
  return query
    .where("p.status", "=", "active")
    .where("p.start_date", "<=", today)
    .where((eb) => eb.or([eb("p.end_date", "is", null), eb("p.end_date", ">=", today)]));
}

/** Today in UTC as an ISO date: the day that says which positions are current. */
export const isoToday = () => new Date().toISOString().slice(0, 10);

/** People holding a current position at an organisation, by family name, a page at a time. */
export async function peopleAtOrganisation(
  queryable: Queryable,
  odsCode: string,
  page: { limit?: number; offset?: number } = {},
): Promise<{ uuid: string; name: string; roleProfileIds: string[] }[]> {
  const today = new Date().toISOString().slice(0, 10);
  const rows = await queryable
    .selectFrom("positions as p")
    .innerJoin("people as person", "person.uuid", "p.uuid")
    .select([
      "person.uuid",
      "person.family_name",
      "person.given_name",
      "person.title",
      sql<string[]>`array_agg(p.role_profile_id ORDER BY p.role_profile_id)`.as("role_profile_ids"),
    ])
    .where("p.ods_code", "=", odsCode)
    .where("p.status", "=", "active")
    .where("p.start_date", "<=", today)
    .where((eb) => eb.or([eb("p.end_date", "is", null), eb("p.end_date", ">=", today)]))
    .groupBy(["person.uuid", "person.family_name", "person.given_name", "person.title"])
    .orderBy("person.family_name")
    .orderBy("person.given_name")
    .orderBy("person.uuid")
    .limit(Math.min(page.limit ?? 100, 1000))
    .offset(page.offset ?? 0)
    .execute();
  return rows.map((row) => ({
    uuid: row.uuid,
    name: [row.family_name, row.given_name, row.title].filter(Boolean).join(" "),
    roleProfileIds: row.role_profile_ids,
  }));
}

/**
 * A person's current positions as one JSON array, to be selected beside other things in one
 * query (CIS2 reads a person and their positions for every token); `positionsFromRows` reads it.
 */
export function currentPositionsJson(queryable: Queryable, uuid: RawBuilder<string>) {
  const current = currentPositionsOf(queryable, uuid);
  return sql<
    PositionRow[]
  >`(SELECT coalesce(json_agg(x ORDER BY x.start_date, x.role_profile_id), '[]') FROM (${current}) x)`;
}

/** How many current positions a person holds, as a subquery to be selected beside other things. */
export function currentPositionCount(queryable: Queryable, uuid: RawBuilder<string>) {
  return sql<number>`(SELECT count(*)::int FROM (${currentPositionsOf(queryable, uuid)}) x)`;
}

function currentPositionsOf(queryable: Queryable, uuid: RawBuilder<string>) {
  return currentOnly(positionQuery(queryable).where("p.uuid", "=", uuid), isoToday());
}

export function positionsFromRows(lists: CodeLists, rows: PositionRow[]): Position[] {
  return rows.map((row) => positionFromRow(lists, row));
}

type PositionRow = Selectable<PositionsTable> & {
  organisation_name: string;
  workgroup_names: string[] | null;
};
type PositionQuery = ReturnType<typeof positionQuery>;

function positionQuery(queryable: Queryable) {
  return queryable
    .selectFrom("positions as p")
    .innerJoin("organisations as o", "o.ods_code", "p.ods_code")
    .selectAll("p")
    .select([
      "o.name as organisation_name",
      sql<
        string[] | null
      >`(SELECT array_agg(w.name ORDER BY array_position(p.workgroup_ids, w.id::text)) FROM workgroups w WHERE w.id::text = ANY(p.workgroup_ids))`.as(
        "workgroup_names",
      ),
    ]);
}

async function readPositions(
  queryable: Queryable,
  lists: CodeLists,
  narrow: (query: PositionQuery) => PositionQuery,
): Promise<Position[]> {
  const rows = await narrow(positionQuery(queryable))
    .orderBy("p.start_date")
    .orderBy("p.role_profile_id")
    .execute();
  return rows.map((row) => positionFromRow(lists, row as PositionRow));
}

function positionFromRow(lists: CodeLists, row: PositionRow): Position {
  const role = lists.jobRoles.get(row.job_role_code);
  if (!role) throw new Error(`job role ${row.job_role_code} is missing from the loaded code lists`);
  return {
    roleProfileId: row.role_profile_id,
    personOrgId: row.person_orgid,
    uuid: row.uuid,
    odsCode: row.ods_code,
    organisationName: row.organisation_name,
    jobRole: qualifyJobRole(lists, role),
    activities: effectiveActivities(lists, row.job_role_code, row.added_activity_codes).map((code) => ({
      code,
      name: lists.activities.get(code)?.name ?? code,
    })),
    addedActivityCodes: row.added_activity_codes,
    workgroups: row.workgroup_ids.map((id, index) => ({ id, name: row.workgroup_names?.[index] ?? id })),
    areasOfWork: row.area_of_work_codes.map((code) => ({
      code,
      name: (lists.areasOfWork.get(code) ?? [code]).map((part) => `"${part}"`).join(":"),
    })),
    startDate: row.start_date,
    endDate: row.end_date,
    status: row.status,
  };
}

/** What the audit log keeps of a position: its identity and access, not derived names. */
function auditView(position: Position) {
  return {
    uuid: position.uuid,
    odsCode: position.odsCode,
    personOrgId: position.personOrgId,
    jobRole: position.jobRole.code,
    addedActivityCodes: position.addedActivityCodes,
    workgroupIds: position.workgroups.map((workgroup) => workgroup.id),
    areaOfWorkCodes: position.areasOfWork.map((area) => area.code),
    startDate: position.startDate,
    endDate: position.endDate,
  };
}
