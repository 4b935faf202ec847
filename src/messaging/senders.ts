import type { MessageSettings } from "../config.ts";
import { folderSender } from "./folder-sender.ts";
import { notifySender } from "./notify-sender.ts";
import type { MessageSender } from "./sender.ts";
import { smtpSender } from "./smtp-sender.ts";
import type { TemplateName } from "./templates.ts";

/**
 * The sender configuration chooses: email by SMTP if a relay is set, else by GOV.UK Notify;
 * text messages by Notify; with neither, both to the demo's outbox folder.
 */
export function senderFromSettings(settings: MessageSettings): MessageSender {
  const folder = settings.smtp || settings.notify ? undefined : folderSender(settings.folder);
  const notify =
    settings.notify &&
    notifySender({
      ...settings.notify,
      templateIds: settings.notify.templateIds as Record<TemplateName, string>,
    });
  const smtp = settings.smtp && smtpSender(settings.smtp);
  const email = smtp ?? notify ?? (folder as MessageSender);
  const sms = notify ?? (smtp ? undefined : folder);
  return {
    kind: [email.kind, sms && sms !== email ? sms.kind : undefined].filter(Boolean).join("+"),
    sendEmail: (message) => email.sendEmail(message),
    // With SMTP alone there is no way to send a text: the SMTP sender refuses it for good.
    sendSms: (message) => (sms ?? email).sendSms(message),
    close: () => smtp?.close?.(),
  };
}
