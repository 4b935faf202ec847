import { type RawBuilder, sql } from "kysely";
import { type Person, personFromRow, personQuery } from "../people/people.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { currentPositionsJson, isoToday, positionsFromRows } from "../rbac/positions.ts";
import { compiledOnce } from "../store/compiled.ts";
import type { Db, Queryable } from "../store/database.ts";
import { readOnce, remember } from "./request-scope.ts";
import { rememberPositions, rememberSelectedRole } from "./sign-in/role-selection.ts";

/**
 * What every token and UserInfo answer is made of, read in one query: the person with their
 * registrations, their current positions and the role chosen in the token's session. A code or
 * token is looked up with its account in the same query (adapter.ts, `accountQuery`), so the
 * answer is usually already in the request's scope; the positions are kept for the rest of the
 * request, where the claims look for them.
 */
export async function readAccount(
  db: Db,
  lists: CodeLists,
  uuid: string,
  sessionUid: string | undefined,
  { sessionIsNew = false } = {},
): Promise<{ person: Person; selectedRoleId: string | undefined } | undefined> {
  // A session made in this request has no role chosen yet: the account without one serves it,
  // and that one is read with the interaction the session is made from.
  const readWith = sessionIsNew ? undefined : sessionUid;
  const row = await readOnce(accountKey(uuid, readWith), async () => {
    const { rows } = await accountByUuid(db, uuid, readWith ?? null);
    return rows[0];
  });
  if (!row) return undefined;
  rememberPositions(uuid, positionsFromRows(lists, row.positions));
  if (sessionUid) rememberSelectedRole(sessionUid, uuid, row.selected_role_id ?? undefined);
  return { person: personFromRow(row, row.registrations), selectedRoleId: row.selected_role_id ?? undefined };
}

/**
 * The account of a person and a session as a query to be joined where the two are known (the
 * token's `accountId` and `sessionUid`), so the account costs no round trip of its own.
 */
export function accountQuery(
  db: Queryable,
  uuid: RawBuilder<string | null>,
  sessionUid: RawBuilder<string | null>,
) {
  return personQuery(db)
    .select(currentPositionsJson(db, sql.ref("people.uuid")).as("positions"))
    .select(
      sql<string | null>`(SELECT s.role_profile_id FROM cis2_role_selections s
        WHERE s.session_uid = ${sessionUid} AND s.uuid = people.uuid)`.as("selected_role_id"),
    )
    .where("people.uuid", "=", uuid as RawBuilder<string>);
}

/** Compiled once a day: building it cost more than running it, and its positions are today's. */
const accountByUuid = compiledOnce(
  2,
  (queryable, uuid, sessionUid) => accountQuery(queryable, sql`${uuid}`, sql`${sessionUid}`),
  isoToday,
);

export type AccountRow = NonNullable<
  Awaited<ReturnType<ReturnType<typeof accountQuery>["executeTakeFirst"]>>
>;

/** Keeps an account read with something else for `readAccount` in this request. */
export function rememberAccount(
  uuid: string,
  sessionUid: string | undefined,
  row: AccountRow | undefined,
): void {
  remember(accountKey(uuid, sessionUid), row);
}

const accountKey = (uuid: string, sessionUid: string | undefined) =>
  `cis2:account:${uuid}:${sessionUid ?? ""}`;
