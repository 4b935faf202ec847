import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError } from "../errors.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import { nextIdentifier } from "../store/identifiers.ts";
import { getOrganisation } from "./organisations.ts";

/**
 * A workgroup belongs to one organisation and has a 12-digit id from the shared sequence; an RA
 * manager describes it and may confine it to some of the organisation's position definitions
 * (none listed: any position there may carry it).
 */
export type Workgroup = {
  id: string;
  odsCode: string;
  name: string;
  description: string;
  positionDefinitionIds: string[];
};

/** Checks a workgroup's name: required, up to 100 characters. */
export function checkWorkgroupName(name: unknown): string {
  const trimmed = typeof name === "string" ? name.trim().replace(/\s+/g, " ") : "";
  if (trimmed.length === 0 || trimmed.length > 100)
    throw InvalidInputError.field("name", "is required (up to 100 characters)");
  return trimmed;
}

export async function createWorkgroup(
  queryable: Queryable,
  actor: Actor,
  odsCode: string,
  name: string,
  details: { description?: string; positionDefinitionIds?: string[] } = {},
): Promise<Workgroup> {
  const trimmed = checkWorkgroupName(name);
  return inTransaction(queryable, async (tx) => {
    await getOrganisation(tx, odsCode);
    const existing = await tx
      .selectFrom("workgroups")
      .select("id")
      .where("ods_code", "=", odsCode)
      .where("name", "=", trimmed)
      .executeTakeFirst();
    if (existing)
      throw new ConflictError(`name: ${odsCode} already has a workgroup called ${trimmed}`, "name");
    const workgroup: Workgroup = {
      id: await nextIdentifier(tx),
      odsCode,
      name: trimmed,
      description: details.description ?? "",
      positionDefinitionIds: details.positionDefinitionIds ?? [],
    };
    await tx
      .insertInto("workgroups")
      .values({
        id: workgroup.id,
        ods_code: odsCode,
        name: trimmed,
        description: workgroup.description,
        position_definition_ids: workgroup.positionDefinitionIds,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "workgroup.created",
      subject: { type: "workgroup", id: workgroup.id },
      after: workgroup,
    });
    return workgroup;
  });
}

export async function workgroupsAt(queryable: Queryable, odsCode: string): Promise<Workgroup[]> {
  const rows = await queryable
    .selectFrom("workgroups")
    .selectAll()
    .where("ods_code", "=", odsCode)
    .orderBy("name")
    .execute();
  return rows.map((row) => ({
    id: row.id,
    odsCode: row.ods_code,
    name: row.name,
    description: row.description,
    positionDefinitionIds: row.position_definition_ids,
  }));
}
