import { operatorActor } from "../audit/actor.ts";
import { type Prepare, storeCommand, type WithStore } from "../store-command.ts";
import { type Closure, closeProfile, reopenProfile } from "./closure.ts";

/** What closing or reopening a profile takes. */
const statusOptions = {
  uuid: { type: "string", help: "the person's 12-digit UUID" },
  reason: { type: "string", help: "why, for the audit log" },
} as const;

/**
 * The RA's commands the operator may run with the service's own authority (acting.ts
 * operatorActions): closing a leaver's profile and reopening it.
 */
export function registrationCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  return {
    "people close": command(
      "people close",
      "careid people close --uuid UUID --reason TEXT",
      "Close a profile (a leaver), as an RA would: ends positions, closes requests, cancels authenticators and cards (revoking certificates), ends CIS2 sessions.",
      statusOptions,
      async (store, values) => {
        const outcome = await closeProfile(store.db, operatorActor(), {
          uuid: String(values.uuid ?? ""),
          reason: typeof values.reason === "string" ? values.reason : undefined,
          direct: true,
        });
        // direct: the operator's authority is never only to ask, so this is done or refused.
        if (outcome.outcome !== "done")
          throw new Error("closing a profile from the command line made a request");
        console.log(closureReport(outcome.result));
        return 0;
      },
    ),
    "people reopen": command(
      "people reopen",
      "careid people reopen --uuid UUID --reason TEXT",
      "Reopen a closed profile; its positions and authenticators are not restored but given anew.",
      statusOptions,
      async (store, values) => {
        const uuid = String(values.uuid ?? "");
        const reason = typeof values.reason === "string" ? values.reason : undefined;
        await reopenProfile(store.db, operatorActor(), { uuid, reason, direct: true });
        console.log(`Reopened ${uuid}. It has no positions or authenticators until they are given anew.`);
        return 0;
      },
    ),
  };
}

/** What closing a profile did, one line for each part of it. */
function closureReport(closure: Closure): string {
  const { profile } = closure;
  const listed = (items: string[]) => (items.length > 0 ? ` (${items.join(", ")})` : "");
  const revoked = closure.smartcardsCancelled.flatMap((card) => card.revoked);
  return [
    `Closed ${profile.uuid} (${profile.givenName} ${profile.familyName}):`,
    `  ${closure.positionsEnded.length} position(s) ended${listed(closure.positionsEnded)}`,
    `  ${closure.requestsClosed} open request(s) closed`,
    `  ${closure.authenticatorsCancelled.length} authenticator(s) cancelled${listed(closure.authenticatorsCancelled)}`,
    `  ${closure.smartcardsCancelled.length} smartcard(s) cancelled${listed(closure.smartcardsCancelled.map((card) => card.cardSerial))}; ${revoked.length} certificate(s) revoked${listed(revoked)}`,
    `  ${closure.sessionsEnded} CIS2 session(s) ended; ${closure.logoutsQueued} back-channel logout(s) queued`,
  ].join("\n");
}
