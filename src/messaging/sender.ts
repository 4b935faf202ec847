import type { Personalisation, TemplateName } from "./templates.ts";

/**
 * The one interface the rest of the service sends through. A message is named by its template
 * and personalisation, so a sender that holds its own templates (GOV.UK Notify) and one that
 * renders ours (SMTP, the outbox folder) take the same thing. `reference` is the outbox row's id:
 * each sender passes it on, so a message retried after a crash can be recognised downstream.
 */
export type OutgoingMessage = {
  to: string;
  template: TemplateName;
  personalisation: Personalisation;
  reference: string;
};

export type Delivery = { providerReference?: string };

export type MessageSender = {
  /** The sender's kind, for logs and the demo page. */
  readonly kind: string;
  sendEmail(message: OutgoingMessage): Promise<Delivery>;
  sendSms(message: OutgoingMessage): Promise<Delivery>;
  close?(): void;
};

/** The provider refused for good (a bad address, a bad template): retrying cannot help. */
export class PermanentSendError extends Error {}
