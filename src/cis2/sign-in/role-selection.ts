import { interactionPolicy, type KoaContextWithOIDC } from "oidc-provider";
import type { Actor } from "../../audit/actor.ts";
import { recordEvents } from "../../audit/record.ts";
import { InvalidInputError } from "../../errors.ts";
import type { CodeLists } from "../../rbac/code-lists.ts";
import { type Position, positionsOfPerson } from "../../rbac/positions.ts";
import { type Db, inTransaction, type Queryable } from "../../store/database.ts";
import { holdWrite } from "../authorization-writes.ts";
import { readOnce, remember } from "../request-scope.ts";

const { Check } = interactionPolicy;

/** A person's current positions, read once per request: the role check, the role page and the claims all ask. */
export function positionsInRequest(queryable: Queryable, lists: CodeLists, uuid: string) {
  return readOnce(`positions:${uuid}`, () => positionsOfPerson(queryable, lists, uuid));
}

/** Keeps positions read with something else for `positionsInRequest` in this request. */
export function rememberPositions(uuid: string, positions: Position[]): void {
  remember(`positions:${uuid}`, positions);
}

const roleKey = (sessionUid: string, uuid: string) => `role:${sessionUid}:${uuid}`;

/** The position chosen in a CIS2 session, if that session's user chose one; read once per request. */
export function selectedRoleFor(
  queryable: Queryable,
  sessionUid: string,
  uuid: string,
): Promise<string | undefined> {
  return readOnce(roleKey(sessionUid, uuid), async () => {
    const row = await queryable
      .selectFrom("cis2_role_selections")
      .select("role_profile_id")
      .where("session_uid", "=", sessionUid)
      .where("uuid", "=", uuid)
      .executeTakeFirst();
    return row?.role_profile_id;
  });
}

/** Keeps a session's chosen role, read with something else or just chosen, for `selectedRoleFor`. */
export function rememberSelectedRole(
  sessionUid: string,
  uuid: string,
  roleProfileId: string | undefined,
): void {
  remember(roleKey(sessionUid, uuid), roleProfileId);
}

/** Only one of a person's current positions may be chosen. */
export function refuseOtherRoles(positions: Position[], roleProfileId: string): void {
  if (!positions.some((position) => position.roleProfileId === roleProfileId))
    throw InvalidInputError.field("role", "Select one of your current roles");
}

/** Records the user's choice for the session; only one of their current positions may be chosen. */
export async function selectRole(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  selection: { sessionUid: string; uuid: string; roleProfileId: string },
): Promise<void> {
  refuseOtherRoles(await positionsInRequest(queryable, lists, selection.uuid), selection.roleProfileId);
  const choice = queryable
    .insertInto("cis2_role_selections")
    .values({
      session_uid: selection.sessionUid,
      uuid: selection.uuid,
      role_profile_id: selection.roleProfileId,
    })
    .onConflict((conflict) =>
      conflict.column("session_uid").doUpdateSet({
        uuid: selection.uuid,
        role_profile_id: selection.roleProfileId,
        selected_at: new Date(),
      }),
    );
  const event = {
    actor,
    entry: {
      action: "cis2.role-selected",
      subject: { type: "position", id: selection.roleProfileId },
      after: { sessionUid: selection.sessionUid },
    },
  };
  // At the end of a sign-in the choice is made with the sign-in's other writes, in their commit.
  if (!holdWrite(choice, [event]))
    await inTransaction(queryable, (tx) => recordEvents(tx, [event], [choice]));
  rememberSelectedRole(selection.sessionUid, selection.uuid, selection.roleProfileId);
}

/**
 * The rule of the select_role prompt: with scope selectedrole, a person with positions who has
 * not chosen one this session. A person with one position has it chosen for them here, and a
 * role chosen in the interaction they signed in with is kept here, with the session just made:
 * no second interaction, no second page, no second resume.
 */
export async function needsRoleSelection(
  db: Db,
  lists: CodeLists,
  ctx: KoaContextWithOIDC,
): Promise<boolean> {
  const { oidc } = ctx;
  const accountId = oidc.session?.accountId;
  if (!accountId || !oidc.requestParamScopes.has("selectedrole")) return Check.NO_NEED_TO_PROMPT;
  const positions = await positionsInRequest(db, lists, accountId);
  if (positions.length === 0) return Check.NO_NEED_TO_PROMPT;
  const sessionUid = oidc.session?.uid;
  const selected = sessionUid ? await selectedRoleFor(db, sessionUid, accountId) : undefined;
  if (positions.some((position) => position.roleProfileId === selected)) return Check.NO_NEED_TO_PROMPT;
  // One position needs no choosing; a choice made with the sign-in (afterSignIn) comes in its result.
  const chosenWithSignIn = (oidc.result as { select_role?: { roleProfileId?: string } } | undefined)
    ?.select_role?.roleProfileId;
  const chosen =
    positions.length === 1
      ? positions[0]
      : positions.find((position) => position.roleProfileId === chosenWithSignIn);
  if (!chosen || !sessionUid) return Check.REQUEST_PROMPT;
  const correlationId = oidc.entities.Interaction?.uid ?? sessionUid;
  await selectRole(db, { kind: "person", id: accountId, source: "CIS2", correlationId }, lists, {
    sessionUid,
    uuid: accountId,
    roleProfileId: chosen.roleProfileId,
  });
  return Check.NO_NEED_TO_PROMPT;
}
