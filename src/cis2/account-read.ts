import { sql } from "kysely";
import { type Person, personFromRow, personQuery } from "../people/people.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { currentPositionsJson, positionsFromRows } from "../rbac/positions.ts";
import type { Db } from "../store/database.ts";
import { rememberPositions } from "./sign-in/role-selection.ts";

/**
 * What every token and UserInfo answer is made of, read in one query: the person with their
 * registrations, their current positions and the role chosen in the token's session. The
 * positions are kept for the rest of the request, where the claims look for them.
 */
export async function readAccount(
  db: Db,
  lists: CodeLists,
  uuid: string,
  sessionUid: string | undefined,
): Promise<{ person: Person; selectedRoleId: string | undefined } | undefined> {
  const row = await personQuery(db)
    .select(currentPositionsJson(db, sql.ref("people.uuid")).as("positions"))
    .select(
      sql<string | null>`(SELECT s.role_profile_id FROM cis2_role_selections s
        WHERE s.session_uid = ${sessionUid ?? null} AND s.uuid = people.uuid)`.as("selected_role_id"),
    )
    .where("people.uuid", "=", uuid)
    .executeTakeFirst();
  if (!row) return undefined;
  rememberPositions(uuid, positionsFromRows(lists, row.positions));
  return { person: personFromRow(row, row.registrations), selectedRoleId: row.selected_role_id ?? undefined };
}
