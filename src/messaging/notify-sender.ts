import notifications from "notifications-node-client";
import type { MessageSender, OutgoingMessage } from "./sender.ts";
import { PermanentSendError } from "./sender.ts";
import type { TemplateName } from "./templates.ts";

/**
 * GOV.UK Notify through its official client. Notify holds the words: each of our templates is
 * one of its template ids, and the personalisation fills it in. The base URL is configurable
 * (Notify's own by default), so tests and a private gateway can stand in for it.
 */
export function notifySender(options: {
  apiKey: string;
  baseUrl: string;
  templateIds: Partial<Record<TemplateName, string>>;
}): MessageSender {
  const client = new notifications.NotifyClient(options.baseUrl, options.apiKey);
  const templateOf = (message: OutgoingMessage) => {
    const id = options.templateIds[message.template];
    if (!id)
      throw new PermanentSendError(`CAREID_NOTIFY_TEMPLATES names no template for ${message.template}`);
    return id;
  };
  const send = async (call: () => Promise<{ data: { id?: string } }>) => {
    try {
      const response = await call();
      return { providerReference: response.data.id };
    } catch (error) {
      throw notifyFailure(error);
    }
  };
  return {
    kind: "notify",
    sendEmail: (message) =>
      send(() =>
        client.sendEmail(templateOf(message), message.to, {
          personalisation: message.personalisation,
          reference: message.reference,
        }),
      ),
    sendSms: (message) =>
      send(() =>
        client.sendSms(templateOf(message), message.to, {
          personalisation: message.personalisation,
          reference: message.reference,
        }),
      ),
  };
}

/** Notify's 400 and 403 answers are for good (a bad number, key or template); 429 and 5xx pass. */
function notifyFailure(error: unknown): Error {
  if (error instanceof PermanentSendError) return error;
  const response = (error as { response?: { status?: number; data?: { errors?: { message?: string }[] } } })
    .response;
  const status = response?.status;
  const detail = response?.data?.errors?.map((entry) => entry.message).join("; ") ?? (error as Error).message;
  const text = `GOV.UK Notify${status ? ` ${status}` : ""}: ${String(detail).slice(0, 200)}`;
  return status === 400 || status === 403 ? new PermanentSendError(text) : new Error(text);
}
