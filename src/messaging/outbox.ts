import { randomUUID } from "node:crypto";
import type { Sealer } from "../secrets/sealed.ts";
import type { Queryable, Tx } from "../store/database.ts";
import type { Personalisation, TemplateName } from "./templates.ts";

/**
 * The outbox: a message is queued in the transaction of the change that causes it, so the two
 * commit or vanish together, and the worker (worker.ts) sends it afterwards. What would identify
 * the person or open their account (the address, a one-time code) is sealed at rest.
 */
export type QueuedMessage = {
  channel: "email" | "sms";
  to: string;
  template: TemplateName;
  personalisation: Personalisation;
};

export type SealedContent = { to: string; personalisation: Personalisation };

export async function queueMessage(
  tx: Tx,
  sealer: Sealer,
  message: QueuedMessage,
  now = new Date(),
): Promise<string> {
  const id = randomUUID();
  const content: SealedContent = { to: message.to, personalisation: message.personalisation };
  await tx
    .insertInto("message_outbox")
    .values({
      id,
      channel: message.channel,
      template: message.template,
      sealed_content: sealer.seal(JSON.stringify(content)),
      masked_recipient: maskRecipient(message.channel, message.to),
      next_attempt_at: now,
    })
    .execute();
  return id;
}

/** Where a message went, as the holder and the audit log may see it: j***@nhs.net, *******4321. */
export function maskRecipient(channel: "email" | "sms", to: string): string {
  if (channel === "sms") return `${"*".repeat(Math.max(0, to.length - 4))}${to.slice(-4)}`;
  const [local = "", domain = ""] = to.split("@");
  return `${local.slice(0, 1)}***@${domain}`;
}

export type MessageState = {
  status: "queued" | "sent" | "failed";
  attempts: number;
  lastError: string | null;
  maskedRecipient: string;
};

/** How a queued message is getting on, for a journey that tells its user. */
export async function messageState(queryable: Queryable, id: string): Promise<MessageState | undefined> {
  const row = await queryable
    .selectFrom("message_outbox")
    .select(["status", "attempts", "last_error", "masked_recipient"])
    .where("id", "=", id)
    .executeTakeFirst();
  return (
    row && {
      status: row.status,
      attempts: row.attempts,
      lastError: row.last_error,
      maskedRecipient: row.masked_recipient,
    }
  );
}
