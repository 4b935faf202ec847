import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../errors.ts";
import { checkWorkgroupName, createWorkgroup, type Workgroup } from "../rbac/workgroups.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { type ActionCommon, authorised, recordAction } from "./acting.ts";

/**
 * Workgroups as an organisation's RA manager keeps them in Care Identity Management: created
 * and changed under the RA policy (workgroup.manage), audited as the RA acting in their position.
 */
export type WorkgroupInput = ActionCommon & {
  name?: unknown;
  description?: unknown;
  positionDefinitionIds?: unknown;
};

function checkDescription(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string" || value.trim().length > 500)
    throw InvalidInputError.field("description", "must be text of up to 500 characters");
  return value.trim();
}

/** The position definitions listed, each at the workgroup's organisation. */
async function checkDefinitions(tx: Tx, odsCode: string, value: unknown): Promise<string[]> {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((id) => typeof id !== "string" || !isCareIdentifier(id)))
    throw InvalidInputError.field("positionDefinitionIds", "must be a list of 12-digit position ids");
  const ids = [...new Set(value as string[])].sort();
  if (ids.length === 0) return [];
  const found = await tx
    .selectFrom("position_definitions")
    .select("id")
    .where(sql<boolean>`id = ANY(${ids}::text[])`)
    .where("ods_code", "=", odsCode)
    .execute();
  const missing = ids.filter((id) => !found.some((row) => row.id === id));
  if (missing.length > 0)
    throw InvalidInputError.field(
      "positionDefinitionIds",
      `${missing.join(", ")} are not positions at ${odsCode}`,
    );
  return ids;
}

export async function defineWorkgroup(
  queryable: Queryable,
  actor: Actor,
  odsCode: string,
  input: WorkgroupInput,
): Promise<Workgroup> {
  const ods = String(odsCode ?? "").toUpperCase();
  const name = checkWorkgroupName(input.name);
  const description = checkDescription(input.description);
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "workgroup.manage", { ods }, input);
    const positionDefinitionIds = await checkDefinitions(tx, ods, input.positionDefinitionIds);
    const workgroup = await createWorkgroup(tx, acting, ods, name, { description, positionDefinitionIds });
    return workgroup;
  });
}

export async function getWorkgroup(queryable: Queryable, id: string): Promise<Workgroup> {
  if (!isCareIdentifier(id)) throw InvalidInputError.field("id", "must be a 12-digit workgroup id");
  const row = await queryable.selectFrom("workgroups").selectAll().where("id", "=", id).executeTakeFirst();
  if (!row) throw new NotFoundError("workgroup", `No workgroup has id ${id}`);
  return {
    id: row.id,
    odsCode: row.ods_code,
    name: row.name,
    description: row.description,
    positionDefinitionIds: row.position_definition_ids,
  };
}

/** Renames a workgroup, changes its description, or which positions may carry it. */
export async function changeWorkgroup(
  queryable: Queryable,
  actor: Actor,
  id: string,
  input: WorkgroupInput,
): Promise<Workgroup> {
  const name = input.name === undefined ? undefined : checkWorkgroupName(input.name);
  const description = input.description === undefined ? undefined : checkDescription(input.description);
  return inTransaction(queryable, async (tx) => {
    const before = await getWorkgroup(tx, id);
    const { acting } = await authorised(tx, actor, "workgroup.manage", { ods: before.odsCode }, input);
    const positionDefinitionIds =
      input.positionDefinitionIds === undefined
        ? before.positionDefinitionIds
        : await checkDefinitions(tx, before.odsCode, input.positionDefinitionIds);
    if (name && name !== before.name) {
      const clash = await tx
        .selectFrom("workgroups")
        .select("id")
        .where("ods_code", "=", before.odsCode)
        .where("name", "=", name)
        .executeTakeFirst();
      if (clash)
        throw new ConflictError(`name: ${before.odsCode} already has a workgroup called ${name}`, "name");
    }
    const after: Workgroup = {
      ...before,
      name: name ?? before.name,
      description: description ?? before.description,
      positionDefinitionIds,
    };
    await tx
      .updateTable("workgroups")
      .set({
        name: after.name,
        description: after.description,
        position_definition_ids: after.positionDefinitionIds,
        updated_at: new Date(),
      })
      .where("id", "=", id)
      .execute();
    await recordAction(
      tx,
      acting,
      { action: "workgroup.changed", subject: { type: "workgroup", id }, before, after },
      input,
    );
    return after;
  });
}
