import { type Selectable, sql } from "kysely";
import { type Actor, systemActor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { type Db, inTransaction, type Queryable, type Tx } from "../store/database.ts";
import type { Database } from "../store/schema.ts";

/**
 * Ending CIS2 sessions from the service's side. Whenever a session ends other than by the user
 * signing out at a relying party (a leaver closed, an RA revoking access, the session expiring),
 * its sessions, grants and tokens are deleted and each relying party it was signed in to is owed
 * a back-channel logout token, queued for the delivery worker in the same transaction.
 */
type SessionRow = Pick<Selectable<Database["oidc_models"]>, "id" | "payload">;
type Authorization = { clientId: string; uuid: string; sid?: string; grantId?: string };

/** Ends a person's sessions; with `methods`, only those signed in with one of them (`amr`). */
export async function endSessionsOf(
  queryable: Queryable,
  actor: Actor,
  uuid: string,
  methods?: string[],
): Promise<{ sessions: number; notices: number }> {
  return inTransaction(queryable, async (tx) => {
    let query = tx
      .selectFrom("oidc_models")
      .select(["id", "payload"])
      .where("kind", "=", "Session")
      .where(sql<string>`payload->>'accountId'`, "=", uuid);
    if (methods) query = query.where(sql<boolean>`payload->'amr' ?| ${sql.val(methods)}::text[]`);
    const sessions = await query.execute();
    const notices = await endSessions(tx, sessions);
    await recordEvent(tx, actor, {
      action: "cis2.sessions-ended",
      subject: { type: "person", id: uuid },
      after: { sessions: sessions.length, clients: notices.map((notice) => notice.clientId) },
    });
    return { sessions: sessions.length, notices: notices.length };
  });
}

/**
 * Ends the one session a relying party names from its server (its ID token's `sub` and `sid`),
 * as CIS2 relying parties log out without the browser. The caller asked for it, so only the
 * other relying parties of the session are owed a back-channel logout.
 */
export async function endSessionNamedBy(
  queryable: Queryable,
  actor: Actor,
  named: { uuid: string; clientId: string; sid: string },
): Promise<{ sessions: number; notices: number }> {
  return inTransaction(queryable, async (tx) => {
    const sessions = await tx
      .selectFrom("oidc_models")
      .select(["id", "payload"])
      .where("kind", "=", "Session")
      .where(sql<string>`payload->>'accountId'`, "=", named.uuid)
      .where(sql<string>`payload->'authorizations'->${sql.val(named.clientId)}->>'sid'`, "=", named.sid)
      .forUpdate()
      .execute();
    const notices = await endSessions(tx, sessions, named.clientId);
    if (sessions.length > 0)
      await recordEvent(tx, actor, {
        action: "cis2.session-ended-by-relying-party",
        subject: { type: "person", id: named.uuid },
        after: { client: named.clientId, sid: named.sid, clients: notices.map((notice) => notice.clientId) },
      });
    return { sessions: sessions.length, notices: notices.length };
  });
}

/** Sessions past their lifetime end here, so their relying parties hear of it. */
export async function endExpiredSessions(db: Db): Promise<number> {
  return inTransaction(db, async (tx) => {
    const sessions = await tx
      .selectFrom("oidc_models")
      .select(["id", "payload"])
      .where("kind", "=", "Session")
      .where("expires_at", "<=", sql<Date>`now()`)
      .limit(1000)
      .forUpdate()
      .skipLocked()
      .execute();
    if (sessions.length === 0) return 0;
    const notices = await endSessions(tx, sessions);
    await recordEvent(tx, systemActor("cis2"), {
      action: "cis2.sessions-expired",
      after: { sessions: sessions.length, notices: notices.length },
    });
    return sessions.length;
  });
}

/** Deletes the sessions with their grants' tokens, and queues back-channel logout (but to `except`). */
async function endSessions(tx: Tx, sessions: SessionRow[], except?: string): Promise<Authorization[]> {
  if (sessions.length === 0) return [];
  const authorizations = sessions.flatMap((session) =>
    Object.entries(
      (session.payload.authorizations ?? {}) as Record<string, Omit<Authorization, "clientId" | "uuid">>,
    ).map(([clientId, authorization]) => ({
      clientId,
      uuid: String(session.payload.accountId ?? ""),
      ...authorization,
    })),
  );
  const grantIds = authorizations
    .map((authorization) => authorization.grantId)
    .filter((id): id is string => Boolean(id));
  if (grantIds.length > 0) await tx.deleteFrom("oidc_models").where("grant_id", "in", grantIds).execute();
  await tx
    .deleteFrom("oidc_models")
    .where("kind", "=", "Session")
    .where(
      "id",
      "in",
      sessions.map((session) => session.id),
    )
    .execute();
  const listening = new Set(
    (
      await tx
        .selectFrom("oidc_clients")
        .select("client_id")
        .where(sql<string>`metadata->>'backchannel_logout_uri'`, "is not", null)
        .execute()
    ).map((row) => row.client_id),
  );
  const notices = authorizations.filter(
    (authorization) =>
      authorization.sid &&
      authorization.uuid &&
      listening.has(authorization.clientId) &&
      authorization.clientId !== except,
  );
  if (notices.length > 0) {
    await tx
      .insertInto("backchannel_deliveries")
      .values(
        notices.map((notice) => ({
          client_id: notice.clientId,
          uuid: notice.uuid,
          sid: notice.sid as string,
          last_error: null,
        })),
      )
      .execute();
  }
  return notices;
}
