import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import type { SealedContent } from "./outbox.ts";
import { type MessageSender, PermanentSendError } from "./sender.ts";
import { isTemplateName } from "./templates.ts";

/**
 * Delivers the outbox. Any number of nodes run this: each claims due messages under
 * FOR UPDATE SKIP LOCKED and marks them claimed for a lease, so no two nodes send one message at
 * once, and a node that dies mid-send leaves a claim that lapses and is retried. A failure waits
 * twice as long as the one before; after the last attempt the message is failed. Each outcome is
 * audited with the masked recipient and template, never the content.
 */
export type WorkerSettings = {
  /** Attempts before a message is given up as failed. */
  maxAttempts: number;
  /** The wait after the first failure; each further one doubles, up to an hour. */
  firstRetrySeconds: number;
  /** How long a claim lasts: longer than a send can take. */
  leaseSeconds: number;
  batchSize: number;
};

export const defaultWorkerSettings: WorkerSettings = {
  maxAttempts: 8,
  firstRetrySeconds: 5,
  leaseSeconds: 120,
  batchSize: 20,
};

const actor: Actor = { kind: "system", id: "message-outbox", source: "SYSTEM" };

export function retryDelaySeconds(settings: WorkerSettings, attempts: number): number {
  return Math.min(3600, settings.firstRetrySeconds * 2 ** Math.max(0, attempts - 1));
}

/** Claims the due messages and sends each once; returns how many were sent and failed. */
export async function deliverDueMessages(
  db: Db,
  sender: MessageSender,
  sealer: Sealer,
  settings: WorkerSettings = defaultWorkerSettings,
  now = new Date(),
): Promise<{ sent: number; failed: number }> {
  const claimed = await db.transaction().execute(async (tx) => {
    const due = await tx
      .selectFrom("message_outbox")
      .select("id")
      .where("status", "=", "queued")
      .where("next_attempt_at", "<=", now)
      .where((eb) => eb.or([eb("claimed_until", "is", null), eb("claimed_until", "<", now)]))
      .orderBy("next_attempt_at")
      .limit(settings.batchSize)
      .forUpdate()
      .skipLocked()
      .execute();
    if (due.length === 0) return [];
    return tx
      .updateTable("message_outbox")
      .set((eb) => ({
        claimed_until: new Date(now.getTime() + settings.leaseSeconds * 1000),
        attempts: eb("attempts", "+", 1),
      }))
      .where(
        "id",
        "in",
        due.map((row) => row.id),
      )
      .returning(["id", "channel", "template", "sealed_content", "masked_recipient", "attempts"])
      .execute();
  });
  let sent = 0;
  let failed = 0;
  for (const row of claimed) {
    const subject = { type: "message", id: row.id };
    const about = {
      channel: row.channel,
      template: row.template,
      to: row.masked_recipient,
      attempt: row.attempts,
    };
    try {
      if (!isTemplateName(row.template)) throw new PermanentSendError(`There is no template ${row.template}`);
      const content = JSON.parse(sealer.open(row.sealed_content)) as SealedContent;
      const message = { ...content, template: row.template, reference: row.id };
      const delivery = await (row.channel === "email" ? sender.sendEmail(message) : sender.sendSms(message));
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable("message_outbox")
          .set({
            status: "sent",
            sent_at: new Date(),
            claimed_until: null,
            last_error: null,
            provider_reference: delivery.providerReference?.slice(0, 200) ?? null,
          })
          .where("id", "=", row.id)
          .execute();
        await recordEvent(tx, actor, {
          action: "message.sent",
          subject,
          after: { ...about, by: sender.kind },
        });
      });
      sent++;
    } catch (error) {
      const permanent = error instanceof PermanentSendError || row.attempts >= settings.maxAttempts;
      const reason = String((error as Error).message).slice(0, 300);
      const retryAt = new Date(now.getTime() + retryDelaySeconds(settings, row.attempts) * 1000);
      await db.transaction().execute(async (tx) => {
        await tx
          .updateTable("message_outbox")
          .set({
            status: permanent ? "failed" : "queued",
            claimed_until: null,
            last_error: reason,
            next_attempt_at: retryAt,
          })
          .where("id", "=", row.id)
          .execute();
        await recordEvent(tx, actor, {
          action: permanent ? "message.failed" : "message.delivery-deferred",
          subject,
          after: {
            ...about,
            by: sender.kind,
            error: reason,
            ...(permanent ? {} : { retryAt: retryAt.toISOString() }),
          },
        });
      });
      failed++;
    }
  }
  return { sent, failed };
}

export type OutboxWorker = { wake(): void; stop(): Promise<void> };

/**
 * Polls the outbox every `pollMilliseconds`, and at once when woken (a journey that just queued
 * a message on this node). One delivery round at a time per node.
 */
export function startOutboxWorker(options: {
  db: Db;
  sender: MessageSender;
  sealer: Sealer;
  settings?: WorkerSettings;
  pollMilliseconds: number;
  log: (error: Error) => void;
}): OutboxWorker {
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  const round = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await deliverDueMessages(options.db, options.sender, options.sealer, options.settings);
        } catch (error) {
          options.log(error as Error);
        }
      } while (again && !stopped);
    })().finally(() => {
      running = undefined;
    });
  };
  const timer = setInterval(round, options.pollMilliseconds);
  timer.unref();
  round();
  return {
    wake: round,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
      options.sender.close?.();
    },
  };
}
