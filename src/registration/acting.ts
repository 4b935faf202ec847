import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, ForbiddenError, InvalidInputError } from "../errors.ts";
import { authorise, type Decision, type PolicyTarget, type RegistrationAction } from "../ra-policy/policy.ts";
import type { Tx } from "../store/database.ts";

/** What every RA action may carry besides its own fields. */
export type ActionCommon = {
  /** Why, in the RA's words; required where the action says so. */
  reason?: string;
  /** Anything else the RA wants on the record. */
  notes?: string;
  /** A form's or API call's own id: the second use of one is refused, so nothing happens twice. */
  submissionId?: string;
};

export type Allowed = Extract<Decision, { allowed: true }>;

/** The actor as the audit log should name them: acting in the position the policy found. */
function actingIn(actor: Actor, decision: Allowed): Actor {
  return decision.position ? { ...actor, roleId: decision.position } : actor;
}

/**
 * What the operator at the command line may do with the service's own authority, as `careid
 * people add` creates people: authorised by access to the machine, audited as the operator.
 * Everything else is a person's, through the RA policy; the service's own components and the
 * Apply for Care ID and ESR feeds act on nobody directly (feeds only ask: receiveRequest).
 */
const operatorActions: readonly RegistrationAction[] = ["profile.close", "profile.reopen"];

/**
 * The sandbox (audit/actor.ts sandboxActor) also changes a persona's details when its file
 * changes: its people are fictional and exist only in the sandbox's own database.
 */
const sandboxActions: readonly RegistrationAction[] = [...operatorActions, "profile.change-details"];

/**
 * Authorises an action inside the caller's transaction, and claims the submission id if there
 * is one. People act in Care Identity Management, and the returned actor names the position
 * they acted in; the operator only for operatorActions.
 */
export async function authorised(
  tx: Tx,
  actor: Actor,
  action: RegistrationAction,
  target: PolicyTarget,
  common: ActionCommon = {},
): Promise<{ decision: Allowed; acting: Actor }> {
  const granted = actor.kind === "operator" && actor.source === "SANDBOX" ? sandboxActions : operatorActions;
  if (actor.kind === "operator" && granted.includes(action))
    return { decision: { allowed: true, role: "OPERATOR" }, acting: actor };
  if (actor.kind !== "person")
    throw new ForbiddenError(
      actor.kind === "operator"
        ? `The operator at the command line may not do ${action}; an RA does it in Care Identity Management`
        : "Only a person can act as an RA",
    );
  const decision = await authorise(tx, actor.id, action, target);
  await claimSubmission(tx, actor.id, action, common.submissionId);
  return { decision, acting: actingIn(actor, decision) };
}

/**
 * Records a submission id once. A second use, however quick, is a ConflictError and the
 * transaction it runs in changes nothing.
 */
export async function claimSubmission(
  tx: Tx,
  actorUuid: string,
  action: string,
  submissionId: string | undefined,
): Promise<void> {
  if (submissionId === undefined) return;
  if (typeof submissionId !== "string" || !/^[A-Za-z0-9_-]{8,100}$/.test(submissionId))
    throw InvalidInputError.field("submissionId", "must be 8 to 100 letters, digits, hyphens or underscores");
  const claimed = await sql<{ submission_id: string }>`
    INSERT INTO registration_submissions (submission_id, actor_uuid, action)
    VALUES (${submissionId}, ${actorUuid}, ${action})
    ON CONFLICT (submission_id) DO NOTHING
    RETURNING submission_id`.execute(tx);
  if (claimed.rows.length === 0)
    throw new ConflictError(
      "submissionId: this has already been submitted; nothing was changed",
      "submissionId",
    );
}

/** Records an RA action with its reason and notes. */
export async function recordAction(
  tx: Tx,
  acting: Actor,
  entry: { action: string; subject: { type: string; id: string }; before?: unknown; after?: unknown },
  common: ActionCommon,
): Promise<void> {
  const notes = common.notes?.trim();
  const after = notes ? { ...(entry.after as object | undefined), notes } : entry.after;
  await recordEvent(tx, acting, { ...entry, after, reason: common.reason?.trim() || undefined });
}

/** A required reason, trimmed; InvalidInputError naming the field when it is missing. */
export function requiredReason(common: ActionCommon, purpose: string): string {
  const reason = typeof common.reason === "string" ? common.reason.trim() : "";
  if (reason.length === 0) throw InvalidInputError.field("reason", `is required ${purpose}`);
  if (reason.length > 1000) throw InvalidInputError.field("reason", "must be at most 1000 characters");
  return reason;
}

export function todayIso(): string {
  return new Date().toISOString().slice(0, 10);
}
