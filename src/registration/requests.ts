import { type Selectable, sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError } from "../errors.ts";
import {
  authorise,
  decide,
  fourEyes,
  type PolicyTarget,
  type RegistrationAction,
} from "../ra-policy/policy.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier, nextIdentifier } from "../store/identifiers.ts";
import type { RegistrationRequestsTable } from "../store/schema.ts";
import { type ActionCommon, authorised, claimSubmission, recordAction, requiredReason } from "./acting.ts";

/**
 * Registration requests: a change the actor may not make directly becomes a request (or
 * arrives from Apply or ESR), an approver opens it (held for them), and approves or rejects it.
 * The approvers' dashboard, which reads them, is request-dashboard.ts. Over 400 lines because
 * a request's life (made, received, opened, approved or rejected, closed) is one state machine.
 */

/** Opening a request holds it for its approver this long. */
const requestLockMinutes = 15;
/** Decided requests stay on the dashboard this long (and in the audit log for ever). */
export const closedRequestDays = 30;

export type RequestSource = "CIM" | "APPLY" | "ESR";
export type RequestStatus = "open" | "completed" | "rejected";

export type RegistrationRequest = {
  id: string;
  action: RegistrationAction;
  odsCode: string;
  subjectUuid: string;
  subjectName: string;
  positionDefinitionId: string | null;
  details: Record<string, unknown>;
  source: RequestSource;
  status: RequestStatus;
  requestedBy: string | null;
  reason: string | null;
  notes: string | null;
  lockedBy: string | null;
  lockedUntil: Date | null;
  decidedBy: string | null;
  decisionReason: string | null;
  decidedAt: Date | null;
  createdAt: Date;
  version: number;
};

/** An action either done at once or, for a sponsor without the right, left as a request. */
export type Outcome<T> =
  | { outcome: "done"; result: T }
  | { outcome: "requested"; request: RegistrationRequest };

/** What a request needs to be acted on later: where it belongs and what exactly is asked. */
export type RequestedChange = {
  subjectUuid: string;
  /** The organisation whose approvers decide; by default where the requester acts. */
  odsCode?: string;
  positionDefinitionId?: string;
  details: Record<string, unknown>;
};

/** Options an approver's call passes: the action must be done, never turned into a request. */
export type Directness = { direct?: boolean };

/**
 * Authorises an action and either does it or, when the actor may only ask, records a request
 * for an approver. An approver carrying out a request (direct) must have the right outright.
 */
export async function doOrRequest<T>(
  tx: Tx,
  actor: Actor,
  action: RegistrationAction,
  target: PolicyTarget,
  common: ActionCommon & Directness,
  change: RequestedChange,
  work: (acting: Actor) => Promise<T>,
): Promise<Outcome<T>> {
  const { decision, acting } = await authorised(tx, actor, action, target, common);
  if (!decision.byRequest) return { outcome: "done", result: await work(acting) };
  if (common.direct) throw new ForbiddenError(`Your RA roles allow ${action} only as a request`);
  const odsCode = change.odsCode ?? (await organisationOfPosition(tx, decision.position));
  const request = await createRequest(tx, acting, action, { ...change, odsCode }, common);
  return { outcome: "requested", request };
}

async function createRequest(
  tx: Tx,
  acting: Actor,
  action: RegistrationAction,
  change: RequestedChange & { odsCode: string },
  common: ActionCommon,
): Promise<RegistrationRequest> {
  const { odsCode } = change;
  const id = await nextIdentifier(tx);
  await tx
    .insertInto("registration_requests")
    .values({
      id,
      action,
      ods_code: odsCode,
      subject_uuid: change.subjectUuid,
      position_definition_id: change.positionDefinitionId ?? null,
      details: JSON.stringify(change.details),
      source: acting.kind === "person" ? "CIM" : (acting.source as RequestSource),
      requested_by: acting.kind === "person" ? acting.id : null,
      requested_role_id: acting.roleId ?? null,
      reason: common.reason?.trim() || null,
      notes: common.notes?.trim() || null,
    })
    .execute();
  await recordAction(
    tx,
    acting,
    {
      action: "request.created",
      subject: { type: "request", id },
      after: {
        action,
        odsCode,
        subjectUuid: change.subjectUuid,
        positionDefinitionId: change.positionDefinitionId,
        details: change.details,
      },
    },
    common,
  );
  return getRequest(tx, id);
}

/** What an external feed may ask for; it never changes anything itself. */
const feedActions: readonly RegistrationAction[] = ["position.assign", "position.remove", "profile.close"];

/**
 * A request arriving from Apply for Care ID or ESR. A feed is an integration, not a person: it
 * may only ask, and RA staff decide its requests through the same policy and dashboard.
 */
export async function receiveRequest(
  queryable: Queryable,
  feed: Actor,
  input: ActionCommon & { action: RegistrationAction } & RequestedChange & { odsCode: string },
): Promise<RegistrationRequest> {
  if (feed.kind !== "system" || (feed.source !== "APPLY" && feed.source !== "ESR"))
    throw new ForbiddenError("Only the Apply for Care ID and ESR feeds may send requests");
  if (!feedActions.includes(input.action))
    throw InvalidInputError.field("action", `must be one of ${feedActions.join(", ")}`);
  if (!isCareIdentifier(input.subjectUuid)) throw InvalidInputError.field("subjectUuid", "must be 12 digits");
  return inTransaction(queryable, async (tx) => {
    await claimSubmission(tx, feed.id, input.action, input.submissionId);
    const organisation = await tx
      .selectFrom("organisations")
      .select("ods_code")
      .where("ods_code", "=", input.odsCode)
      .executeTakeFirst();
    if (!organisation)
      throw new NotFoundError("organisation", `odsCode: no organisation has ODS code ${input.odsCode}`);
    return createRequest(tx, feed, input.action, input, input);
  });
}

async function organisationOfPosition(tx: Tx, roleProfileId: string | undefined): Promise<string> {
  const row = await tx
    .selectFrom("positions")
    .select("ods_code")
    .where("role_profile_id", "=", roleProfileId ?? "")
    .executeTakeFirst();
  if (!row) throw new Error("a request's position has no organisation");
  return row.ods_code;
}

const requestColumns = [
  "r.id",
  "r.action",
  "r.ods_code",
  "r.subject_uuid",
  "r.position_definition_id",
  "r.details",
  "r.source",
  "r.status",
  "r.requested_by",
  "r.reason",
  "r.notes",
  "r.locked_by",
  "r.locked_until",
  "r.decided_by",
  "r.decision_reason",
  "r.decided_at",
  "r.created_at",
  "r.version",
] as const;

export function requestQuery(queryable: Queryable) {
  return queryable
    .selectFrom("registration_requests as r")
    .innerJoin("people as subject", "subject.uuid", "r.subject_uuid")
    .select(requestColumns)
    .select(sql<string>`subject.family_name || ' ' || subject.given_name`.as("subject_name"));
}

export type RequestRow = Omit<
  Selectable<RegistrationRequestsTable>,
  "requested_role_id" | "decided_role_id"
> & {
  subject_name: string;
};

export function requestFromRow(row: RequestRow): RegistrationRequest {
  return {
    id: row.id,
    action: row.action as RegistrationAction,
    odsCode: row.ods_code,
    subjectUuid: row.subject_uuid,
    subjectName: row.subject_name,
    positionDefinitionId: row.position_definition_id,
    details: row.details,
    source: row.source,
    status: row.status,
    requestedBy: row.requested_by,
    reason: row.reason,
    notes: row.notes,
    lockedBy: row.locked_by,
    lockedUntil: row.locked_until,
    decidedBy: row.decided_by,
    decisionReason: row.decision_reason,
    decidedAt: row.decided_at,
    createdAt: row.created_at,
    version: row.version,
  };
}

export async function getRequest(queryable: Queryable, id: string): Promise<RegistrationRequest> {
  if (!isCareIdentifier(id)) throw InvalidInputError.field("requestId", "must be 12 digits");
  const row = await requestQuery(queryable).where("r.id", "=", id).executeTakeFirst();
  if (!row) throw new NotFoundError("request", `No request has id ${id}`);
  return requestFromRow(row as RequestRow);
}

/** One request, shown to whoever made it or may decide requests at its organisation. */
export async function viewRequest(
  queryable: Queryable,
  actorUuid: string,
  id: string,
): Promise<RegistrationRequest> {
  const request = await getRequest(queryable, id);
  if (request.requestedBy !== actorUuid)
    await authorise(queryable, actorUuid, "request.decide", { ods: request.odsCode });
  return request;
}

/**
 * An approver opens a request: it is locked to them for 15 minutes so two approvers do not
 * decide it at once. Opening one already locked by someone else is refused.
 */
export async function openRequest(
  queryable: Queryable,
  actor: Actor,
  requestId: string,
): Promise<RegistrationRequest> {
  return inTransaction(queryable, async (tx) => {
    const request = await lockedForDecision(tx, actor, requestId, { opening: true });
    const { acting } = await authorised(tx, actor, "request.decide", { ods: request.odsCode });
    const lockedUntil = new Date(Date.now() + requestLockMinutes * 60_000);
    await tx
      .updateTable("registration_requests")
      .set({ locked_by: actor.id, locked_until: lockedUntil })
      .where("id", "=", requestId)
      .execute();
    await recordAction(
      tx,
      acting,
      { action: "request.opened", subject: { type: "request", id: requestId }, after: { lockedUntil } },
      {},
    );
    return { ...request, lockedBy: actor.id, lockedUntil };
  });
}

/**
 * The request, read for update, if this actor may decide it now: still open, at the version
 * the actor saw, not their own, and not locked by someone else (to decide it, locked by them).
 */
export async function lockedForDecision(
  tx: Tx,
  actor: Actor,
  requestId: string,
  options: { opening?: boolean; version?: number },
): Promise<RegistrationRequest> {
  if (!isCareIdentifier(requestId)) throw InvalidInputError.field("requestId", "must be 12 digits");
  await sql`SELECT id FROM registration_requests WHERE id = ${requestId} FOR UPDATE`.execute(tx);
  const request = await getRequest(tx, requestId);
  if (request.status !== "open")
    throw new ConflictError(
      `requestId: request ${requestId} has already been ${request.status}`,
      "requestId",
    );
  if (options.version !== undefined && options.version !== request.version)
    throw new ConflictError(
      `version: request ${requestId} has changed since you opened it; open it again`,
      "version",
    );
  const refused = fourEyes({
    action: "request.decide",
    actorUuid: actor.id,
    subjectUuid: request.subjectUuid,
    requestedBy: request.requestedBy,
  });
  if (refused) throw new ForbiddenError(refused);
  const now = Date.now();
  const heldByOther =
    request.lockedBy && request.lockedBy !== actor.id && (request.lockedUntil?.getTime() ?? 0) > now;
  if (heldByOther)
    throw new ConflictError(
      `requestId: request ${requestId} is open with another approver until ${request.lockedUntil?.toISOString()}`,
      "requestId",
    );
  const heldByActor = request.lockedBy === actor.id && (request.lockedUntil?.getTime() ?? 0) > now;
  if (!options.opening && !heldByActor)
    throw new ConflictError(
      `requestId: open request ${requestId} before deciding it (an opened request is held for ${requestLockMinutes} minutes)`,
      "requestId",
    );
  return request;
}

/** Marks an open request decided, and records the decision with its reason. */
export async function closeRequest(
  tx: Tx,
  acting: Actor,
  request: RegistrationRequest,
  status: "completed" | "rejected",
  common: ActionCommon,
): Promise<RegistrationRequest> {
  const reason = common.reason?.trim() || null;
  await tx
    .updateTable("registration_requests")
    .set({
      status,
      decided_by: acting.kind === "person" ? acting.id : null,
      decided_role_id: acting.roleId ?? null,
      decision_reason: reason,
      decided_at: new Date(),
      locked_by: null,
      locked_until: null,
      version: sql<number>`version + 1`,
    })
    .where("id", "=", request.id)
    .execute();
  await recordAction(
    tx,
    acting,
    {
      action: status === "completed" ? "request.approved" : "request.rejected",
      subject: { type: "request", id: request.id },
      before: { status: request.status },
      after: { status },
    },
    common,
  );
  return getRequest(tx, request.id);
}

/** Rejects a request the actor has opened; a reason is required and is kept with it. */
export async function rejectRequest(
  queryable: Queryable,
  actor: Actor,
  requestId: string,
  input: ActionCommon & { version?: number },
): Promise<RegistrationRequest> {
  requiredReason(input, "to reject a request");
  return inTransaction(queryable, async (tx) => {
    const request = await lockedForDecision(tx, actor, requestId, { version: input.version });
    const { acting } = await authorised(tx, actor, "request.decide", { ods: request.odsCode }, input);
    return closeRequest(tx, acting, request, "rejected", input);
  });
}

/** Open requests about a person, closed when their profile is (rejected, with the reason). */
export async function closeRequestsAbout(
  tx: Tx,
  acting: Actor,
  uuid: string,
  reason: string,
): Promise<number> {
  const open = await tx
    .selectFrom("registration_requests")
    .select("id")
    .where("subject_uuid", "=", uuid)
    .where("status", "=", "open")
    .execute();
  for (const { id } of open) await closeRequest(tx, acting, await getRequest(tx, id), "rejected", { reason });
  return open.length;
}

/**
 * Open requests about a person that this actor made or may decide, oldest first: what a
 * profile shows as waiting, so nobody asks twice for what is already asked.
 */
export async function openRequestsAbout(
  queryable: Queryable,
  actorUuid: string,
  uuid: string,
): Promise<RegistrationRequest[]> {
  if (!isCareIdentifier(uuid)) throw InvalidInputError.field("uuid", "must be 12 digits");
  const rows = await requestQuery(queryable)
    .where("r.subject_uuid", "=", uuid)
    .where("r.status", "=", "open")
    .orderBy("r.created_at")
    .execute();
  const visible: RegistrationRequest[] = [];
  for (const row of rows) {
    const request = requestFromRow(row as RequestRow);
    const mine = request.requestedBy === actorUuid;
    if (mine || (await decide(queryable, actorUuid, "request.decide", { ods: request.odsCode })).allowed)
      visible.push(request);
  }
  return visible;
}
