import { type Actor, systemActor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import {
  type SmartcardProof,
  verifySmartcardAuthentication,
} from "../authenticators/smartcard/verification.ts";
import { ConflictError, DomainError, InvalidInputError } from "../errors.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { type Position, positionsOfPerson } from "../rbac/positions.ts";
import { type Db, inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { TokenRefused } from "./refusal.ts";
import { isWellFormedToken, newSsoToken, tokenDigest } from "./token.ts";

/**
 * CIS1 sessions: a smartcard sign-in through the workstation agent gives an SSO token bound to
 * the card, its holder and the position they act in. A token ends when the card leaves the
 * reader (the agent's removal report), when it is unused for the idle limit, at the absolute
 * limit, and at once when the card or the profile stops being active.
 */
export type Cis1Lifetimes = { idleMinutes: number; sessionHours: number };

/** A position as the agent's role page shows it. */
export type RoleChoice = { roleProfileId: string; organisation: string; odsCode: string; jobRole: string };

export type StartedSession = {
  token: string;
  holder: string;
  /** The holder's current positions; more than one means they must choose. */
  roles: RoleChoice[];
  selectedRole: string | null;
  roleRequired: boolean;
  expiresAt: Date;
};

export type ValidSession = {
  holder: string;
  cardSerial: string;
  selectedRole: string | null;
  expiresAt: Date;
};

const housekeeping = systemActor("cis1-sessions");

export function roleChoice(position: Position): RoleChoice {
  return {
    roleProfileId: position.roleProfileId,
    organisation: position.organisationName,
    odsCode: position.odsCode,
    jobRole: position.jobRole.name,
  };
}

/**
 * Starts a session for the card that signed a fresh challenge. One position is selected at
 * once; with several, the token waits for the holder's choice; with none, it names no role.
 */
export async function startCardSession(
  db: Db,
  actor: Actor,
  lists: CodeLists,
  request: { cardSerial: string; proof: SmartcardProof },
  lifetimes: Cis1Lifetimes,
  now = new Date(),
): Promise<StartedSession> {
  // Verified apart: a refusal is audited by the verification and must stay recorded.
  const verified = await verifySmartcardAuthentication(db, actor, request.proof, now);
  if (!verified.ok) throw new DomainError("smartcard-refused", verified.message);
  if (verified.cardSerial !== request.cardSerial)
    throw new DomainError("smartcard-refused", "the proof was signed by another card");
  const positions = await positionsOfPerson(db, lists, verified.holder);
  const roleRequired = positions.length > 1;
  const selectedRole = positions.length === 1 ? (positions[0] as Position).roleProfileId : null;
  const token = newSsoToken();
  const expiresAt = new Date(now.getTime() + lifetimes.sessionHours * 3_600_000);
  await inTransaction(db, async (tx) => {
    await tx
      .insertInto("cis1_sessions")
      .values({
        token_digest: tokenDigest(token),
        holder: verified.holder,
        card_serial: verified.cardSerial,
        role_profile_id: selectedRole,
        role_required: roleRequired,
        created_at: now,
        last_used_at: now,
        expires_at: expiresAt,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "cis1.session-started",
      subject: { type: "person", id: verified.holder },
      after: { cardSerial: verified.cardSerial, roleProfileId: selectedRole, roleRequired },
    });
  });
  return {
    token,
    holder: verified.holder,
    roles: positions.map(roleChoice),
    selectedRole,
    roleRequired,
    expiresAt,
  };
}

/** The holder's choice among several positions, made once for the session on the agent's page. */
export async function chooseSessionRole(
  db: Db,
  actor: Actor,
  lists: CodeLists,
  choice: { token: unknown; roleProfileId: unknown },
  lifetimes: Cis1Lifetimes,
  now = new Date(),
): Promise<ValidSession> {
  const session = await validSession(db, choice.token, lifetimes, { allowRolePending: true, now });
  if (session.selectedRole !== null)
    throw new ConflictError("A role has been chosen for this session already", "roleProfileId");
  const positions = await positionsOfPerson(db, lists, session.holder);
  if (!positions.some((position) => position.roleProfileId === choice.roleProfileId))
    throw InvalidInputError.field("roleProfileId", "Select one of your current roles");
  const roleProfileId = choice.roleProfileId as string;
  await inTransaction(db, async (tx) => {
    await tx
      .updateTable("cis1_sessions")
      .set({ role_profile_id: roleProfileId, role_required: false, last_used_at: now })
      .where("token_digest", "=", tokenDigest(choice.token as string))
      .execute();
    await recordEvent(tx, actor, {
      action: "cis1.role-selected",
      subject: { type: "position", id: roleProfileId },
      after: { holder: session.holder, cardSerial: session.cardSerial },
    });
  });
  return { ...session, selectedRole: roleProfileId };
}

/**
 * The session a token names, if it may be honoured now. An expired session, or one whose card
 * or holder is no longer active, is ended on the spot (audited) and refused. `touch` counts
 * this as use, for the idle limit.
 */
export async function validSession(
  queryable: Queryable,
  token: unknown,
  lifetimes: Cis1Lifetimes,
  options: { touch?: boolean; allowRolePending?: boolean; now?: Date } = {},
): Promise<ValidSession> {
  const now = options.now ?? new Date();
  if (!isWellFormedToken(token)) throw new TokenRefused("malformed-token");
  const digest = tokenDigest(token);
  const row = await queryable
    .selectFrom("cis1_sessions as s")
    .innerJoin("smartcards as c", "c.serial", "s.card_serial")
    .innerJoin("people as p", "p.uuid", "s.holder")
    .select([
      "s.holder",
      "s.card_serial",
      "s.role_profile_id",
      "s.role_required",
      "s.last_used_at",
      "s.expires_at",
      "c.status as card_status",
      "p.status as holder_status",
    ])
    .where("s.token_digest", "=", digest)
    .executeTakeFirst();
  if (!row) throw new TokenRefused("unknown-token");
  const idleSince = new Date(now.getTime() - lifetimes.idleMinutes * 60_000);
  const ending =
    row.expires_at <= now || row.last_used_at < idleSince
      ? ("expired-token" as const)
      : row.card_status !== "active"
        ? ("card-not-active" as const)
        : row.holder_status !== "active"
          ? ("holder-not-active" as const)
          : undefined;
  if (ending) {
    await endSession(queryable, digest, row.holder, ending);
    throw new TokenRefused(ending);
  }
  if (row.role_required && !options.allowRolePending) throw new TokenRefused("role-not-selected");
  if (options.touch)
    await queryable
      .updateTable("cis1_sessions")
      .set({ last_used_at: now })
      .where("token_digest", "=", digest)
      .execute();
  return {
    holder: row.holder,
    cardSerial: row.card_serial,
    selectedRole: row.role_profile_id,
    expiresAt: row.expires_at,
  };
}

async function endSession(queryable: Queryable, digest: string, holder: string, reason: string) {
  await inTransaction(queryable, async (tx) => {
    const ended = await tx
      .deleteFrom("cis1_sessions")
      .where("token_digest", "=", digest)
      .returning("card_serial")
      .executeTakeFirst();
    // Another request may have ended it a moment before: the one that deleted it records it.
    if (ended)
      await recordEvent(tx, housekeeping, {
        action: "cis1.session-ended",
        subject: { type: "person", id: holder },
        after: { cardSerial: ended.card_serial, reason },
      });
  });
}

/** The card left the reader: every CIS1 session on it ends, in the removal's own transaction. */
export async function destroyCardSessions(tx: Tx, actor: Actor, cardSerial: string): Promise<number> {
  const destroyed = await tx
    .deleteFrom("cis1_sessions")
    .where("card_serial", "=", cardSerial)
    .returning("holder")
    .execute();
  if (destroyed.length > 0)
    await recordEvent(tx, actor, {
      action: "cis1.sessions-destroyed",
      subject: { type: "person", id: (destroyed[0] as { holder: string }).holder },
      after: { cardSerial, sessions: destroyed.length },
    });
  return destroyed.length;
}
