import type { Selectable } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import { raHoldings } from "../ra-policy/policy.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { organisationLineage } from "../rbac/organisations.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier, nextIdentifier } from "../store/identifiers.ts";
import type { AccessProfileRow, PositionDefinitionsTable } from "../store/schema.ts";
import { type ActionCommon, authorised, recordAction } from "./acting.ts";

/**
 * A position as an organisation's RA defines it: a name and one or more access profiles, each
 * a job role with extra activities, workgroups and areas of work. Assigning it gives the person
 * one role profile per access profile.
 */
export type PositionDefinition = {
  id: string;
  odsCode: string;
  name: string;
  accessProfiles: AccessProfileRow[];
  status: "active" | "retired";
};

export type NewPositionDefinition = ActionCommon & {
  odsCode?: unknown;
  name?: unknown;
  accessProfiles?: unknown;
};

function stringList(problems: Problems, field: string, value: unknown, known: (code: string) => boolean) {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
    problems.add(field, "must be a list of codes");
    return [];
  }
  const unknown = value.filter((code) => !known(code));
  if (unknown.length > 0) problems.add(field, `unknown: ${unknown.join(", ")}`);
  return [...new Set(value as string[])].sort();
}

function checkAccessProfiles(problems: Problems, lists: CodeLists, value: unknown): AccessProfileRow[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 20) {
    problems.add("accessProfiles", "must list 1 to 20 access profiles");
    return [];
  }
  return value.map((profile: Record<string, unknown>, index) => {
    const field = `accessProfiles[${index}]`;
    const jobRole =
      String(profile?.jobRole ?? "")
        .split(":")
        .pop() ?? "";
    if (!lists.jobRoles.has(jobRole))
      problems.add(`${field}.jobRole`, `"${profile?.jobRole}" is not a job role code`);
    return {
      jobRole,
      activities: stringList(problems, `${field}.activities`, profile?.activities, (code) =>
        lists.activities.has(code),
      ),
      workgroups: stringList(problems, `${field}.workgroups`, profile?.workgroups, isCareIdentifier),
      areasOfWork: stringList(problems, `${field}.areasOfWork`, profile?.areasOfWork, (code) =>
        lists.areasOfWork.has(code),
      ),
    };
  });
}

function checkName(problems: Problems, value: unknown): string {
  const name = typeof value === "string" ? value.trim().replace(/\s+/g, " ") : "";
  if (name.length === 0 || name.length > 200) problems.add("name", "is required (up to 200 characters)");
  return name;
}

/**
 * The workgroups must be at the organisation, and a workgroup its RA manager confined to some
 * position definitions may be carried only by those (a new definition is in no such list).
 */
async function checkWorkgroups(
  tx: Tx,
  odsCode: string,
  profiles: AccessProfileRow[],
  definitionId?: string,
): Promise<void> {
  const wanted = [...new Set(profiles.flatMap((profile) => profile.workgroups))];
  if (wanted.length === 0) return;
  const found = await tx
    .selectFrom("workgroups")
    .select(["id", "name", "position_definition_ids"])
    .where("id", "in", wanted)
    .where("ods_code", "=", odsCode)
    .execute();
  const missing = wanted.filter((id) => !found.some((row) => row.id === id));
  if (missing.length > 0)
    throw InvalidInputError.field("accessProfiles", `workgroups ${missing.join(", ")} are not at ${odsCode}`);
  const confined = found.filter(
    (row) =>
      row.position_definition_ids.length > 0 && !row.position_definition_ids.includes(definitionId ?? ""),
  );
  if (confined.length > 0)
    throw InvalidInputError.field(
      "accessProfiles",
      `workgroup ${confined.map((row) => row.name).join(", ")} may be carried only by the positions its RA manager chose`,
    );
}

async function refuseSameName(tx: Tx, odsCode: string, name: string, except?: string): Promise<void> {
  const clash = await tx
    .selectFrom("position_definitions")
    .select("id")
    .where("ods_code", "=", odsCode)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()))
    .where("id", "!=", except ?? "")
    .executeTakeFirst();
  if (clash) throw new ConflictError(`name: ${odsCode} already has a position called ${name}`, "name");
}

export async function definePosition(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  input: NewPositionDefinition,
): Promise<PositionDefinition> {
  const problems = new Problems();
  const odsCode = String(input.odsCode ?? "").toUpperCase();
  if (!/^[A-Z0-9]{3,10}$/.test(odsCode)) problems.add("odsCode", "must be an ODS code");
  const name = checkName(problems, input.name);
  const accessProfiles = checkAccessProfiles(problems, lists, input.accessProfiles);
  problems.throwIfAny();
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "position.define", { ods: odsCode }, input);
    await checkWorkgroups(tx, odsCode, accessProfiles);
    await refuseSameName(tx, odsCode, name);
    const id = await nextIdentifier(tx);
    await tx
      .insertInto("position_definitions")
      .values({ id, ods_code: odsCode, name, access_profiles: JSON.stringify(accessProfiles) })
      .execute();
    const definition: PositionDefinition = { id, odsCode, name, accessProfiles, status: "active" };
    await recordAction(
      tx,
      acting,
      {
        action: "position-definition.created",
        subject: { type: "position-definition", id },
        after: definition,
      },
      input,
    );
    return definition;
  });
}

/**
 * Renames a definition, replaces its access profiles or retires it. Existing assignments keep
 * the access they were given; only new assignments use the change.
 */
export async function changePositionDefinition(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  definitionId: string,
  input: Omit<NewPositionDefinition, "odsCode"> & { status?: unknown },
): Promise<PositionDefinition> {
  const problems = new Problems();
  const name = input.name === undefined ? undefined : checkName(problems, input.name);
  const accessProfiles =
    input.accessProfiles === undefined
      ? undefined
      : checkAccessProfiles(problems, lists, input.accessProfiles);
  if (input.status !== undefined && input.status !== "active" && input.status !== "retired")
    problems.add("status", "must be active or retired");
  problems.throwIfAny();
  return inTransaction(queryable, async (tx) => {
    const before = await getPositionDefinition(tx, definitionId);
    const { acting } = await authorised(tx, actor, "position.define", { ods: before.odsCode }, input);
    if (accessProfiles) await checkWorkgroups(tx, before.odsCode, accessProfiles, before.id);
    if (name) await refuseSameName(tx, before.odsCode, name, definitionId);
    const after: PositionDefinition = {
      ...before,
      name: name ?? before.name,
      accessProfiles: accessProfiles ?? before.accessProfiles,
      status: (input.status as PositionDefinition["status"] | undefined) ?? before.status,
    };
    await tx
      .updateTable("position_definitions")
      .set({
        name: after.name,
        access_profiles: JSON.stringify(after.accessProfiles),
        status: after.status,
        updated_at: new Date(),
      })
      .where("id", "=", definitionId)
      .execute();
    await recordAction(
      tx,
      acting,
      {
        action: "position-definition.changed",
        subject: { type: "position-definition", id: definitionId },
        before,
        after,
      },
      input,
    );
    return after;
  });
}

export async function getPositionDefinition(queryable: Queryable, id: string): Promise<PositionDefinition> {
  if (!isCareIdentifier(id)) throw InvalidInputError.field("positionDefinitionId", "must be 12 digits");
  const row = await queryable
    .selectFrom("position_definitions")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("position-definition", `positionDefinitionId: no position has id ${id}`);
  return definitionFromRow(row);
}

function definitionFromRow(row: Selectable<PositionDefinitionsTable>): PositionDefinition {
  return {
    id: row.id,
    odsCode: row.ods_code,
    name: row.name,
    accessProfiles: row.access_profiles,
    status: row.status,
  };
}

/** An organisation's positions, by name; retired ones only when asked for. */
export async function listPositionDefinitions(
  queryable: Queryable,
  odsCode: string,
  options: { includeRetired?: boolean } = {},
): Promise<PositionDefinition[]> {
  let query = queryable.selectFrom("position_definitions").selectAll().where("ods_code", "=", odsCode);
  if (!options.includeRetired) query = query.where("status", "=", "active");
  const rows = await query.orderBy("name").execute();
  return rows.map(definitionFromRow);
}

/**
 * Lets a sponsor assign a position directly (or stops it). The sponsor must hold the sponsor
 * activity in a current position at the definition's organisation or above it.
 */
export async function setSponsorAssignable(
  queryable: Queryable,
  actor: Actor,
  input: ActionCommon & { positionDefinitionId: string; sponsorUuid: string; assignable: boolean },
): Promise<{ positionDefinitionId: string; sponsorUuid: string; assignable: boolean }> {
  if (!isCareIdentifier(input.sponsorUuid)) throw InvalidInputError.field("sponsorUuid", "must be 12 digits");
  return inTransaction(queryable, async (tx) => {
    const definition = await getPositionDefinition(tx, input.positionDefinitionId);
    const { acting } = await authorised(
      tx,
      actor,
      "position.choose-sponsor-assignable",
      { positionDefinition: definition.id },
      input,
    );
    const sponsorships = ((await raHoldings(tx, input.sponsorUuid)) ?? []).filter(
      (holding) => holding.role === "SPONSOR",
    );
    const places = await organisationLineage(tx, definition.odsCode);
    if (input.assignable && !sponsorships.some((holding) => places.includes(holding.odsCode)))
      throw InvalidInputError.field(
        "sponsorUuid",
        `${input.sponsorUuid} holds no sponsor position (activity B1300) at ${definition.odsCode} or above it`,
      );
    if (input.assignable) {
      await tx
        .insertInto("sponsor_assignable_positions")
        .values({ position_definition_id: definition.id, sponsor_uuid: input.sponsorUuid })
        .onConflict((conflict) => conflict.doNothing())
        .execute();
    } else {
      await tx
        .deleteFrom("sponsor_assignable_positions")
        .where("position_definition_id", "=", definition.id)
        .where("sponsor_uuid", "=", input.sponsorUuid)
        .execute();
    }
    const result = {
      positionDefinitionId: definition.id,
      sponsorUuid: input.sponsorUuid,
      assignable: input.assignable,
    };
    await recordAction(
      tx,
      acting,
      {
        action: "sponsor-assignable.changed",
        subject: { type: "position-definition", id: definition.id },
        after: result,
      },
      input,
    );
    return result;
  });
}

/** The positions a sponsor may assign without a request. */
export async function sponsorAssignablePositions(
  queryable: Queryable,
  sponsorUuid: string,
): Promise<PositionDefinition[]> {
  const rows = await queryable
    .selectFrom("sponsor_assignable_positions as s")
    .innerJoin("position_definitions as d", "d.id", "s.position_definition_id")
    .selectAll("d")
    .where("s.sponsor_uuid", "=", sponsorUuid)
    .where("d.status", "=", "active")
    .orderBy("d.name")
    .execute();
  return rows.map(definitionFromRow);
}
