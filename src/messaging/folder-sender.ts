import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MessageSender, OutgoingMessage } from "./sender.ts";
import { renderMessage } from "./templates.ts";

/**
 * For the demo and development: each message is written as a file to a folder instead of being
 * sent, and the demo home page lists them. Never for real people, since codes sit there in clear.
 */
export function folderSender(folder: string): MessageSender {
  const write = async (channel: "email" | "sms", message: OutgoingMessage) => {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const { subject, body } = renderMessage(message.template, message.personalisation);
    const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${channel}-${message.reference}.txt`;
    const head = channel === "email" ? `To: ${message.to}\nSubject: ${subject}\n` : `To: ${message.to}\n`;
    writeFileSync(join(folder, name), `${head}\n${body}\n`, { mode: 0o600 });
    return { providerReference: name };
  };
  return {
    kind: "outbox-folder",
    sendEmail: (message) => write("email", message),
    sendSms: (message) => write("sms", message),
  };
}

/** The messages written to the folder, newest first, for the demo page. */
export function folderMessages(folder: string, limit = 50): { name: string; text: string }[] {
  let names: string[];
  try {
    names = readdirSync(folder).filter((name) => name.endsWith(".txt"));
  } catch {
    return [];
  }
  return names
    .sort()
    .reverse()
    .slice(0, limit)
    .map((name) => ({ name, text: readFileSync(join(folder, name), "utf8") }));
}
