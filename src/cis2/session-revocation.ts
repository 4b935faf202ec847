import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { inTransaction, type Queryable } from "../store/database.ts";

/**
 * Ends every CIS2 session of a person at once (a leaver closed, an RA revoking access): their
 * sessions, grants and tokens are deleted, and each relying party they were signed in to is
 * owed a back-channel logout token, queued for the delivery worker in the same transaction.
 */
export async function endSessionsOf(
  queryable: Queryable,
  actor: Actor,
  uuid: string,
): Promise<{ sessions: number; notices: number }> {
  return inTransaction(queryable, async (tx) => {
    const sessions = await tx
      .selectFrom("oidc_models")
      .select(["id", "payload"])
      .where("kind", "=", "Session")
      .where(sql<string>`payload->>'accountId'`, "=", uuid)
      .execute();
    const authorizations = sessions.flatMap((session) =>
      Object.entries(
        (session.payload.authorizations ?? {}) as Record<string, { sid?: string; grantId?: string }>,
      ).map(([clientId, authorization]) => ({ clientId, ...authorization })),
    );
    const grantIds = authorizations
      .map((authorization) => authorization.grantId)
      .filter((id): id is string => Boolean(id));
    if (grantIds.length > 0) await tx.deleteFrom("oidc_models").where("grant_id", "in", grantIds).execute();
    if (sessions.length > 0) {
      await tx
        .deleteFrom("oidc_models")
        .where("kind", "=", "Session")
        .where(
          "id",
          "in",
          sessions.map((session) => session.id),
        )
        .execute();
    }
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
      (authorization) => authorization.sid && listening.has(authorization.clientId),
    );
    if (notices.length > 0) {
      await tx
        .insertInto("backchannel_deliveries")
        .values(
          notices.map((notice) => ({
            client_id: notice.clientId,
            uuid,
            sid: notice.sid as string,
            last_error: null,
          })),
        )
        .execute();
    }
    await recordEvent(tx, actor, {
      action: "cis2.sessions-ended",
      subject: { type: "person", id: uuid },
      after: { sessions: sessions.length, clients: notices.map((notice) => notice.clientId) },
    });
    return { sessions: sessions.length, notices: notices.length };
  });
}
