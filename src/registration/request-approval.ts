import type { Actor } from "../audit/actor.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import { type ActionCommon, authorised } from "./acting.ts";
import { assignPosition, changeAssignmentDates, removeAssignment } from "./assignments.ts";
import { closeProfile, reopenProfile } from "./closure.ts";
import { changeDetails, type DetailChanges } from "./profile-changes.ts";
import { closeRequest, lockedForDecision, type RegistrationRequest } from "./requests.ts";

/**
 * Approves a request the actor has opened: the change is made as the approver, acting in their
 * own position and with their own authority (so four-eyes and every policy check apply to them),
 * and the request is completed, all in one transaction.
 */
export async function approveRequest(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  requestId: string,
  input: ActionCommon & { version?: number } = {},
): Promise<RegistrationRequest> {
  return inTransaction(queryable, async (tx) => {
    const request = await lockedForDecision(tx, actor, requestId, { version: input.version });
    const { acting } = await authorised(tx, actor, "request.decide", { ods: request.odsCode }, input);
    // Completed first, so closing the subject's profile does not also reject this request.
    const completed = await closeRequest(tx, acting, request, "completed", input);
    const common = { reason: request.reason ?? undefined, notes: input.notes, direct: true };
    const details = request.details;
    const uuid = request.subjectUuid;
    switch (request.action) {
      case "position.assign":
        await assignPosition(tx, actor, lists, {
          ...common,
          ...details,
          uuid,
          positionDefinitionId: request.positionDefinitionId,
        });
        break;
      case "position.edit-dates":
        await changeAssignmentDates(tx, actor, {
          ...common,
          ...(details as { assignmentId: string; endDate: string | null }),
        });
        break;
      case "position.remove":
        await removeAssignment(tx, actor, lists, {
          ...common,
          reason: request.reason ?? "Removal requested",
          assignmentId: String(details.assignmentId),
        });
        break;
      case "profile.change-details":
        await changeDetails(tx, actor, { ...common, uuid, changes: details.changes as DetailChanges });
        break;
      case "profile.close":
        await closeProfile(tx, actor, { ...common, uuid, reason: request.reason ?? "Closure requested" });
        break;
      case "profile.reopen":
        await reopenProfile(tx, actor, { ...common, uuid, reason: request.reason ?? "Reopening requested" });
        break;
      default:
        throw new Error(`a request for ${request.action} cannot be approved here`);
    }
    return completed;
  });
}
