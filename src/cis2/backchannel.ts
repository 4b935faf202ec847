import { sql } from "kysely";
import type Provider from "oidc-provider";
import { systemActor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { type Db, inTransaction } from "../store/database.ts";
import type { ProviderHost } from "./host.ts";

/**
 * Back-channel logout with retries. oidc-provider posts the logout token when a session ends;
 * a failed post is queued here and retried with back-off (10 s, 20 s, 40 s ... up to six tries)
 * by whichever node gets to it first. Every outcome is audited.
 */
const maximumAttempts = 6;
const pollMilliseconds = 2000;

export function startBackchannelDelivery(db: Db, host: ProviderHost): { stop(): void } {
  host.onProvider((provider) => {
    provider.on(
      "backchannel.success",
      (_ctx: unknown, client: { clientId: string }, accountId: string, sid: string) => {
        void audit(db, "cis2.backchannel-logout.delivered", client.clientId, accountId, { sid, attempt: 1 });
      },
    );
    provider.on(
      "backchannel.error",
      (_ctx: unknown, error: Error, client: { clientId: string }, accountId: string, sid: string) => {
        void enqueue(db, client.clientId, accountId, sid, error.message);
      },
    );
  });
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    deliverDue(db, host.provider())
      .catch(() => {})
      .finally(() => {
        running = false;
      });
  }, pollMilliseconds);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

async function enqueue(db: Db, clientId: string, uuid: string, sid: string, error: string): Promise<void> {
  await inTransaction(db, async (tx) => {
    await tx
      .insertInto("backchannel_deliveries")
      .values({
        client_id: clientId,
        uuid,
        sid,
        attempts: 1,
        last_error: error,
        next_attempt_at: new Date(Date.now() + 10_000),
      })
      .execute();
    await recordEvent(tx, systemActor("cis2"), {
      action: "cis2.backchannel-logout.failed",
      subject: { type: "client", id: clientId },
      after: { uuid, sid, attempt: 1, error },
    });
  });
}

/** Attempts every due delivery once; rows are locked so two nodes never send the same one. */
export async function deliverDue(db: Db, provider: Provider): Promise<number> {
  let delivered = 0;
  for (;;) {
    const done = await inTransaction(db, async (tx) => {
      const due = await tx
        .selectFrom("backchannel_deliveries")
        .selectAll()
        .where("delivered_at", "is", null)
        .where("attempts", "<", maximumAttempts)
        .where("next_attempt_at", "<=", sql<Date>`now()`)
        .orderBy("next_attempt_at")
        .limit(1)
        .forUpdate()
        .skipLocked()
        .executeTakeFirst();
      if (!due) return undefined;
      const attempt = due.attempts + 1;
      try {
        const client = await provider.Client.find(due.client_id);
        if (!client) throw new Error("the client is no longer registered");
        await (
          client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }
        ).backchannelLogout(due.uuid, due.sid);
        await tx
          .updateTable("backchannel_deliveries")
          .set({ delivered_at: new Date(), attempts: attempt })
          .where("id", "=", due.id)
          .execute();
        await recordEvent(tx, systemActor("cis2"), {
          action: "cis2.backchannel-logout.delivered",
          subject: { type: "client", id: due.client_id },
          after: { uuid: due.uuid, sid: due.sid, attempt },
        });
        return true;
      } catch (error) {
        const wait = 10_000 * 2 ** (attempt - 1);
        await tx
          .updateTable("backchannel_deliveries")
          .set({
            attempts: attempt,
            last_error: (error as Error).message,
            next_attempt_at: new Date(Date.now() + wait),
          })
          .where("id", "=", due.id)
          .execute();
        await recordEvent(tx, systemActor("cis2"), {
          action:
            attempt >= maximumAttempts
              ? "cis2.backchannel-logout.abandoned"
              : "cis2.backchannel-logout.failed",
          subject: { type: "client", id: due.client_id },
          after: { uuid: due.uuid, sid: due.sid, attempt, error: (error as Error).message },
        });
        return false;
      }
    });
    if (done === undefined) return delivered;
    if (done) delivered++;
  }
}

async function audit(
  db: Db,
  action: string,
  clientId: string,
  uuid: string,
  after: Record<string, unknown>,
): Promise<void> {
  await inTransaction(db, (tx) =>
    recordEvent(tx, systemActor("cis2"), {
      action,
      subject: { type: "client", id: clientId },
      after: { uuid, ...after },
    }),
  );
}
