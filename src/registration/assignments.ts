import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
  Problems,
} from "../errors.ts";
import { checkIsoDate } from "../people/validation.ts";
import { fourEyes } from "../ra-policy/policy.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { endPosition, grantPosition } from "../rbac/positions.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier, nextIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, authorised, recordAction, requiredReason, todayIso } from "./acting.ts";
import { getPositionDefinition, type PositionDefinition } from "./position-definitions.ts";
import { type Directness, doOrRequest, type Outcome } from "./requests.ts";

/**
 * An assignment: a position definition given to a person between two dates. Each of the
 * definition's access profiles became one role profile (a positions row); they share the
 * assignment id. A position granted outside CIM is its own assignment, named by its role
 * profile id.
 */
export type Assignment = {
  assignmentId: string;
  uuid: string;
  odsCode: string;
  positionDefinitionId: string | null;
  name: string;
  roleProfileIds: string[];
  jobRoles: string[];
  startDate: string;
  endDate: string | null;
  status: "active" | "ended";
};

export type NewAssignment = ActionCommon & {
  uuid?: unknown;
  positionDefinitionId?: unknown;
  startDate?: unknown;
  endDate?: unknown;
};

type CheckedDates = { startDate: string; endDate: string | null };

function checkDates(problems: Problems, startDate: unknown, endDate: unknown): CheckedDates {
  const start = checkIsoDate(problems, "startDate", startDate ?? todayIso()) ?? "";
  const end =
    endDate === undefined || endDate === null || endDate === ""
      ? null
      : checkIsoDate(problems, "endDate", endDate);
  if (start && end && end < start) problems.add("endDate", `must not be before the start date ${start}`);
  return { startDate: start, endDate: end };
}

function checkUuid(problems: Problems, field: string, value: unknown): string {
  if (!isCareIdentifier(value)) problems.add(field, "must be a 12-digit Care Identity UUID");
  return String(value ?? "");
}

/**
 * Assigns a position. A sponsor may assign the positions chosen as assignable for them; anything
 * else they ask for becomes a request.
 */
export async function assignPosition(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  input: NewAssignment & Directness,
): Promise<Outcome<Assignment>> {
  const problems = new Problems();
  const uuid = checkUuid(problems, "uuid", input.uuid);
  const definitionId = checkUuid(problems, "positionDefinitionId", input.positionDefinitionId);
  const dates = checkDates(problems, input.startDate, input.endDate);
  problems.throwIfAny();
  return inTransaction(queryable, async (tx) => {
    const definition = await activeDefinition(tx, definitionId);
    return doOrRequest(
      tx,
      actor,
      "position.assign",
      { uuid, positionDefinition: definitionId },
      input,
      {
        subjectUuid: uuid,
        odsCode: definition.odsCode,
        positionDefinitionId: definitionId,
        details: { ...dates },
      },
      (acting) => createAssignment(tx, acting, lists, definition, uuid, dates, input),
    );
  });
}

async function activeDefinition(tx: Tx, definitionId: string): Promise<PositionDefinition> {
  const definition = await getPositionDefinition(tx, definitionId);
  if (definition.status !== "active")
    throw new ConflictError(
      `positionDefinitionId: position ${definition.name} is retired`,
      "positionDefinitionId",
    );
  return definition;
}

async function createAssignment(
  tx: Tx,
  acting: Actor,
  lists: CodeLists,
  definition: PositionDefinition,
  uuid: string,
  dates: CheckedDates,
  common: ActionCommon,
): Promise<Assignment> {
  const assignmentId = await nextIdentifier(tx);
  const roleProfileIds: string[] = [];
  for (const profile of definition.accessProfiles) {
    const granted = await grantPosition(tx, acting, lists, {
      uuid,
      odsCode: definition.odsCode,
      ...profile,
      ...dates,
    });
    roleProfileIds.push(granted.roleProfileId);
  }
  await tx
    .updateTable("positions")
    .set({ position_definition_id: definition.id, assignment_id: assignmentId })
    .where("role_profile_id", "in", roleProfileIds)
    .execute();
  const assignment = await getAssignment(tx, assignmentId);
  await recordAction(
    tx,
    acting,
    { action: "assignment.created", subject: { type: "assignment", id: assignmentId }, after: assignment },
    common,
  );
  return assignment;
}

function assignmentQuery(queryable: Queryable) {
  return queryable
    .selectFrom("positions as p")
    .leftJoin("position_definitions as d", "d.id", "p.position_definition_id")
    .select([
      sql<string>`coalesce(p.assignment_id, p.role_profile_id)`.as("assignment_id"),
      "p.uuid",
      "p.ods_code",
      "p.position_definition_id",
      sql<string>`coalesce(min(d.name), min(p.job_role_code))`.as("name"),
      sql<string[]>`array_agg(p.role_profile_id ORDER BY p.role_profile_id)`.as("role_profile_ids"),
      sql<string[]>`array_agg(p.job_role_code ORDER BY p.role_profile_id)`.as("job_roles"),
      sql<string>`min(p.start_date)`.as("start_date"),
      sql<string | null>`(array_agg(p.end_date))[1]`.as("end_date"),
      sql<"active" | "ended">`min(p.status)`.as("status"),
    ])
    .groupBy([
      sql`coalesce(p.assignment_id, p.role_profile_id)`,
      "p.uuid",
      "p.ods_code",
      "p.position_definition_id",
    ]);
}

type AssignmentRow = Awaited<ReturnType<ReturnType<typeof assignmentQuery>["execute"]>>[number];

function assignmentFromRow(row: AssignmentRow): Assignment {
  return {
    assignmentId: row.assignment_id,
    uuid: row.uuid,
    odsCode: row.ods_code,
    positionDefinitionId: row.position_definition_id,
    name: row.name,
    roleProfileIds: row.role_profile_ids,
    jobRoles: row.job_roles,
    startDate: row.start_date,
    endDate: row.end_date,
    status: row.status,
  };
}

export async function getAssignment(queryable: Queryable, assignmentId: string): Promise<Assignment> {
  if (!isCareIdentifier(assignmentId)) throw InvalidInputError.field("assignmentId", "must be 12 digits");
  const row = await assignmentQuery(queryable)
    .where((eb) =>
      eb.or([eb("p.assignment_id", "=", assignmentId), eb("p.role_profile_id", "=", assignmentId)]),
    )
    .executeTakeFirst();
  if (!row) throw new NotFoundError("assignment", `assignmentId: no assignment has id ${assignmentId}`);
  return assignmentFromRow(row);
}

/** A person's assignments, current and past, newest first. */
export async function assignmentsOfPerson(queryable: Queryable, uuid: string): Promise<Assignment[]> {
  if (!isCareIdentifier(uuid)) throw InvalidInputError.field("uuid", "must be 12 digits");
  const rows = await assignmentQuery(queryable)
    .where("p.uuid", "=", uuid)
    .orderBy(sql`min(p.start_date)`, "desc")
    .execute();
  return rows.map(assignmentFromRow);
}

/**
 * Changes an assignment's end date (the start date never changes). A date in the past ends it
 * from then; no date makes it open-ended.
 */
export async function changeAssignmentDates(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & Directness & { assignmentId: string; endDate?: string | null },
): Promise<Outcome<Assignment>> {
  const problems = new Problems();
  const endDate =
    input.endDate === undefined || input.endDate === null || input.endDate === ""
      ? null
      : checkIsoDate(problems, "endDate", input.endDate);
  problems.throwIfAny();
  return inTransaction(queryable, async (tx) => {
    const before = await currentAssignment(tx, input.assignmentId);
    if (endDate && endDate < before.startDate)
      throw InvalidInputError.field("endDate", `must not be before the start date ${before.startDate}`);
    return doOrRequest(
      tx,
      actor,
      "position.edit-dates",
      assignmentTarget(before),
      input,
      assignmentChange(before, { assignmentId: before.assignmentId, endDate }),
      async (acting) => {
        await tx
          .updateTable("positions")
          .set({ end_date: endDate, updated_at: new Date() })
          .where("role_profile_id", "in", before.roleProfileIds)
          .execute();
        const after = await getAssignment(tx, before.assignmentId);
        await recordAction(
          tx,
          acting,
          {
            action: "assignment.dates-changed",
            subject: { type: "assignment", id: before.assignmentId },
            before: { endDate: before.endDate },
            after: { endDate },
          },
          input,
        );
        return after;
      },
    );
  });
}

async function currentAssignment(tx: Tx, assignmentId: string): Promise<Assignment> {
  const assignment = await getAssignment(tx, assignmentId);
  if (assignment.status === "ended")
    throw new ConflictError(
      `assignmentId: assignment ${assignmentId} has already been removed`,
      "assignmentId",
    );
  return assignment;
}

function assignmentTarget(assignment: Assignment) {
  return {
    uuid: assignment.uuid,
    ods: assignment.odsCode,
    positionDefinition: assignment.positionDefinitionId ?? undefined,
  };
}

function assignmentChange(assignment: Assignment, details: Record<string, unknown>) {
  return {
    subjectUuid: assignment.uuid,
    odsCode: assignment.odsCode,
    positionDefinitionId: assignment.positionDefinitionId ?? undefined,
    details,
  };
}

/** Removes an assignment: its role profiles end today (or on their start date, if later). */
export async function removeAssignment(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  input: ActionCommon & Directness & { assignmentId: string },
): Promise<Outcome<Assignment>> {
  const reason = requiredReason(input, "to remove an assignment");
  return inTransaction(queryable, async (tx) => {
    const before = await currentAssignment(tx, input.assignmentId);
    return doOrRequest(
      tx,
      actor,
      "position.remove",
      assignmentTarget(before),
      input,
      assignmentChange(before, { assignmentId: before.assignmentId }),
      async (acting) => {
        const today = todayIso();
        const endDate = before.startDate > today ? before.startDate : today;
        for (const roleProfileId of before.roleProfileIds)
          await endPosition(tx, acting, lists, roleProfileId, { endDate, reason });
        const after = await getAssignment(tx, before.assignmentId);
        await recordAction(
          tx,
          acting,
          {
            action: "assignment.removed",
            subject: { type: "assignment", id: before.assignmentId },
            before,
            after,
          },
          input,
        );
        return after;
      },
    );
  });
}

export const batchLimit = 100;

/**
 * Assigns one position to up to 100 people at once. All or nothing: if any person cannot take
 * it, nobody does, and the error names each person at fault by their place in the list.
 */
export async function batchAssign(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  input: ActionCommon & {
    positionDefinitionId?: unknown;
    uuids?: unknown;
    startDate?: unknown;
    endDate?: unknown;
  },
): Promise<Assignment[]> {
  const problems = new Problems();
  const definitionId = checkUuid(problems, "positionDefinitionId", input.positionDefinitionId);
  const uuids = Array.isArray(input.uuids) ? input.uuids : [];
  if (uuids.length === 0 || uuids.length > batchLimit)
    problems.add("uuids", `must list 1 to ${batchLimit} UUIDs`);
  uuids.forEach((uuid, index) => {
    checkUuid(problems, `uuids[${index}]`, uuid);
    if (uuids.indexOf(uuid) !== index) problems.add(`uuids[${index}]`, `${uuid} is listed twice`);
    const onYourself = fourEyes({ action: "position.batch-assign", actorUuid: actor.id, subjectUuid: uuid });
    if (onYourself) problems.add(`uuids[${index}]`, onYourself);
  });
  const dates = checkDates(problems, input.startDate, input.endDate);
  problems.throwIfAny();
  return inTransaction(queryable, async (tx) => {
    const definition = await activeDefinition(tx, definitionId);
    const { acting } = await authorised(
      tx,
      actor,
      "position.batch-assign",
      { positionDefinition: definitionId },
      input,
    );
    const assigned: Assignment[] = [];
    const failures = new Problems();
    for (const [index, uuid] of (uuids as string[]).entries()) {
      try {
        assigned.push(await createAssignment(tx, acting, lists, definition, uuid, dates, input));
      } catch (error) {
        if (!(error instanceof DomainError) || error instanceof ForbiddenError) throw error;
        failures.add(`uuids[${index}]`, `${uuid}: ${error.message}`);
      }
    }
    failures.throwIfAny();
    return assigned;
  });
}
