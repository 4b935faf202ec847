import { sql } from "kysely";
import type { Queryable } from "./database.ts";

/**
 * Care Identity identifiers (person UUIDs, role profile ids, org-person ids, workgroup ids)
 * are 12-digit strings with no check digit. All come from one sequence, so none is ever
 * issued twice, even across kinds, and a rolled-back transaction never frees one for reuse.
 */
export async function nextIdentifier(queryable: Queryable): Promise<string> {
  const result = await sql<{ id: string }>`SELECT nextval('careid_identifiers')::text AS id`.execute(
    queryable,
  );
  const id = result.rows[0]?.id;
  if (!id) throw new Error("the identifier sequence returned nothing");
  return id;
}

export function isCareIdentifier(value: unknown): boolean {
  return typeof value === "string" && /^[0-9]{12}$/.test(value);
}
