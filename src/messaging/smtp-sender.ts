import nodemailer from "nodemailer";
import type { MessageSender } from "./sender.ts";
import { PermanentSendError } from "./sender.ts";
import { renderMessage } from "./templates.ts";

/**
 * Email through any SMTP relay, by nodemailer. SMS has no SMTP form: a service configured for
 * SMTP alone refuses texts for good, so they fail visibly rather than vanish.
 */
export function smtpSender(options: { url: string; from: string }): MessageSender {
  const transport = nodemailer.createTransport(options.url);
  const domain = options.from.split("@")[1]?.replace(/>$/, "") || "careid.invalid";
  return {
    kind: "smtp",
    async sendEmail(message) {
      const { subject, body } = renderMessage(message.template, message.personalisation);
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: message.to,
          subject,
          text: body,
          // The outbox id: a message retried after a lost answer carries the same Message-ID.
          messageId: `<${message.reference}@${domain}>`,
        });
        return { providerReference: info.messageId };
      } catch (error) {
        const code = (error as { responseCode?: number }).responseCode;
        // 5xx: the relay refused this message for good (RFC 5321 section 4.2.1).
        if (code !== undefined && code >= 500)
          throw new PermanentSendError(`SMTP ${code}: ${firstLine(error)}`);
        throw new Error(`SMTP: ${firstLine(error)}`);
      }
    },
    async sendSms() {
      throw new PermanentSendError("SMS cannot be sent by SMTP: configure GOV.UK Notify for text messages");
    },
    close: () => transport.close(),
  };
}

function firstLine(error: unknown): string {
  return (
    String((error as Error).message ?? error)
      .split("\n")[0]
      ?.slice(0, 200) ?? ""
  );
}
