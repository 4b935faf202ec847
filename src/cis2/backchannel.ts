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

/**
 * Attempts every due delivery once. A delivery is first claimed with a lease (an atomic update,
 * so two nodes never send the same one), then sent with no transaction open, since the send
 * may take seconds; the outcome is recorded afterwards.
 */
export async function deliverDue(db: Db, provider: Provider): Promise<number> {
  let delivered = 0;
  for (let due = await claimDue(db); due; due = await claimDue(db)) {
    try {
      const client = await provider.Client.find(due.client_id);
      if (!client) throw new Error("the client is no longer registered");
      await (
        client as unknown as { backchannelLogout(sub: string, sid: string): Promise<void> }
      ).backchannelLogout(due.uuid, due.sid);
      await recordOutcome(db, due, "cis2.backchannel-logout.delivered", { delivered_at: new Date() });
      delivered++;
    } catch (error) {
      const message = (error as Error).message;
      const nextAttemptAt = new Date(Date.now() + 10_000 * 2 ** (due.attempts - 1));
      const action =
        due.attempts >= maximumAttempts
          ? "cis2.backchannel-logout.abandoned"
          : "cis2.backchannel-logout.failed";
      await recordOutcome(db, due, action, { last_error: message, next_attempt_at: nextAttemptAt }, message);
    }
  }
  return delivered;
}

type Claimed = { id: number; client_id: string; uuid: string; sid: string; attempts: number };

async function claimDue(db: Db): Promise<Claimed | undefined> {
  const leaseUntil = new Date(Date.now() + 60_000);
  return db
    .updateTable("backchannel_deliveries")
    .set((eb) => ({ attempts: eb("attempts", "+", 1), next_attempt_at: leaseUntil }))
    .where(
      "id",
      "=",
      db
        .selectFrom("backchannel_deliveries")
        .select("id")
        .where("delivered_at", "is", null)
        .where("attempts", "<", maximumAttempts)
        .where("next_attempt_at", "<=", sql<Date>`now()`)
        .orderBy("next_attempt_at")
        .limit(1)
        .forUpdate()
        .skipLocked(),
    )
    .returning(["id", "client_id", "uuid", "sid", "attempts"])
    .executeTakeFirst();
}

async function recordOutcome(
  db: Db,
  due: Claimed,
  action: string,
  change: { delivered_at?: Date; last_error?: string; next_attempt_at?: Date },
  error?: string,
): Promise<void> {
  await inTransaction(db, async (tx) => {
    await tx.updateTable("backchannel_deliveries").set(change).where("id", "=", due.id).execute();
    await recordEvent(tx, systemActor("cis2"), {
      action,
      subject: { type: "client", id: due.client_id },
      after: { uuid: due.uuid, sid: due.sid, attempt: due.attempts, ...(error ? { error } : {}) },
    });
  });
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
