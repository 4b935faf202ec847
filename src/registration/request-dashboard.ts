import { type RawBuilder, sql } from "kysely";
import { InvalidInputError } from "../errors.ts";
import { authorise, authorityFor, definitionRaRank, fourEyes } from "../ra-policy/policy.ts";
import { organisationCodesBelow, organisationsBelow } from "../rbac/organisations.ts";
import type { Queryable } from "../store/database.ts";
import {
  closedRequestDays,
  type RegistrationRequest,
  type RequestRow,
  requestFromRow,
  requestQuery,
} from "./requests.ts";

/**
 * The approvers' dashboard of registration requests: the open ones an approver may decide, the
 * ones decided lately, or the actor's own, a page at a time.
 */

export type RequestView = "open" | "closed" | "mine";

/**
 * The request dashboard: open requests the actor may approve (at their organisations and
 * below, not their own, not about themselves, not granting an RA role at or above their own),
 * those decided in the last 30 days, or the actor's own.
 */
export async function listRequests(
  queryable: Queryable,
  actorUuid: string,
  view: RequestView,
  page: { limit?: number; offset?: number } = {},
): Promise<{ total: number; requests: RegistrationRequest[] }> {
  const limit = Math.min(Math.max(page.limit ?? 50, 1), 500);
  const offset = Math.max(page.offset ?? 0, 0);
  if (view === "mine") {
    await authorise(queryable, actorUuid, "profile.find", {});
    return readPage(queryable, sql<boolean>`r.requested_by = ${actorUuid}`, limit, offset, "r.created_at");
  }
  if (view !== "open" && view !== "closed")
    throw InvalidInputError.field("view", "must be open, closed or mine");
  const authority = await authorityFor(queryable, actorUuid, "request.decide");
  // Refused: authorise says why.
  if (authority.organisations.length === 0) await authorise(queryable, actorUuid, "request.decide", {});
  const places = authority.organisations.includes("*")
    ? sql<boolean>`true`
    : placesAmong(await organisationCodesBelow(queryable, authority.organisations));
  const tooHigh = await definitionsTooHigh(queryable, actorUuid, authority);
  // fourEyes() as a condition: not their own requests, none about themselves, none too high.
  const scope = sql<boolean>`${places}
    AND r.requested_by IS DISTINCT FROM ${actorUuid} AND r.subject_uuid <> ${actorUuid}
    AND (r.position_definition_id IS NULL OR NOT (r.position_definition_id = ANY(${tooHigh}::text[])))`;
  if (view === "open")
    return readPage(queryable, sql<boolean>`r.status = 'open' AND ${scope}`, limit, offset, "r.created_at");
  const since = new Date(Date.now() - closedRequestDays * 86_400_000);
  return readPage(
    queryable,
    sql<boolean>`r.status <> 'open' AND r.decided_at >= ${since} AND ${scope}`,
    limit,
    offset,
    "r.decided_at",
  );
}

/** One organisation by equality, so its requests come from the index already in page order. */
function placesAmong(codes: string[]): RawBuilder<boolean> {
  return codes.length === 1
    ? sql<boolean>`r.ods_code = ${codes[0]}`
    : sql<boolean>`r.ods_code = ANY(${codes}::text[])`;
}

/** The position definitions whose requests the four-eyes rule keeps from this approver. */
async function definitionsTooHigh(
  queryable: Queryable,
  actorUuid: string,
  authority: { organisations: string[]; rank: number },
): Promise<string[]> {
  const definitions = await queryable
    .selectFrom("position_definitions")
    .select(["id", "access_profiles"])
    .where(sql<boolean>`ods_code IN (${organisationsBelow(authority.organisations)})`)
    .execute();
  const tooHigh: string[] = [];
  for (const definition of definitions)
    if (
      fourEyes({
        action: "position.assign",
        actorUuid,
        grants: {
          rank: await definitionRaRank(queryable, definition.access_profiles),
          actorRank: authority.rank,
        },
      })
    )
      tooHigh.push(definition.id);
  return tooHigh;
}

/**
 * One page of requests and how many there are in all. The page is chosen from the requests
 * alone (an index walk for one organisation), and only its rows are joined to their subjects.
 */
async function readPage(
  queryable: Queryable,
  where: RawBuilder<boolean>,
  limit: number,
  offset: number,
  order: "r.created_at" | "r.decided_at",
): Promise<{ total: number; requests: RegistrationRequest[] }> {
  const direction = order === "r.created_at" ? "asc" : "desc";
  const count = await queryable
    .selectFrom("registration_requests as r")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where(where)
    .executeTakeFirstOrThrow();
  const rows = await requestQuery(queryable)
    .where("r.id", "in", (eb) =>
      eb
        .selectFrom("registration_requests as r")
        .select("r.id")
        .where(where)
        .orderBy(order, direction)
        .orderBy("r.id")
        .limit(limit)
        .offset(offset),
    )
    .orderBy(order, direction)
    .orderBy("r.id")
    .execute();
  return { total: Number(count.n), requests: rows.map((row) => requestFromRow(row as RequestRow)) };
}
