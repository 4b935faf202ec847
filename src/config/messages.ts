import { resolve } from "node:path";
import { parseList, parseWholeNumber, type Source } from "./values.ts";

/** How messages leave: SMTP, GOV.UK Notify or the outbox folder, and how often a send is tried. */

export type MessageSettings = {
  /** Email by SMTP when set; otherwise by GOV.UK Notify when set; otherwise to the folder. */
  smtp: { url: string; from: string } | undefined;
  notify: { apiKey: string; baseUrl: string; templateIds: Record<string, string> } | undefined;
  /** The demo and development outbox folder, used when neither SMTP nor Notify is configured. */
  folder: string;
  maxAttempts: number;
};

export function parseMessageSettings(source: Source, dataDir: string, problems: string[]): MessageSettings {
  const { CAREID_SMTP_URL: smtpUrl, CAREID_SMTP_FROM: from, CAREID_NOTIFY_API_KEY: apiKey } = source;
  if (smtpUrl !== undefined && !/^smtps?:\/\/[^/]/.test(smtpUrl))
    problems.push("CAREID_SMTP_URL must be an smtp:// or smtps:// URL");
  if ((smtpUrl === undefined) !== (from === undefined))
    problems.push("CAREID_SMTP_URL and CAREID_SMTP_FROM must be set together");
  const baseUrl = (source.CAREID_NOTIFY_BASE_URL ?? "https://api.notifications.service.gov.uk").replace(
    /\/+$/,
    "",
  );
  if (!URL.canParse(baseUrl)) problems.push("CAREID_NOTIFY_BASE_URL must be an http(s) URL");
  const templateIds: Record<string, string> = {};
  for (const pair of parseList(source.CAREID_NOTIFY_TEMPLATES)) {
    const [name, id] = pair.split("=").map((part) => part.trim());
    if (!name || !id || !/^[0-9a-f-]{36}$/i.test(id))
      problems.push(`CAREID_NOTIFY_TEMPLATES must be name=template-id pairs, not "${pair}"`);
    else templateIds[name] = id;
  }
  // Notify keys end in the service id and the secret, two UUIDs (74 characters with the dash).
  if (apiKey !== undefined && !/[0-9a-f-]{36}-[0-9a-f-]{36}$/i.test(apiKey))
    problems.push("CAREID_NOTIFY_API_KEY must be a GOV.UK Notify API key (name-serviceid-secret)");
  if (apiKey !== undefined && Object.keys(templateIds).length === 0)
    problems.push("CAREID_NOTIFY_API_KEY needs CAREID_NOTIFY_TEMPLATES");
  return {
    smtp: smtpUrl && from ? { url: smtpUrl, from } : undefined,
    notify: apiKey ? { apiKey, baseUrl, templateIds } : undefined,
    folder: resolve(source.CAREID_OUTBOX_DIR || `${dataDir}/outbox`),
    maxAttempts: parseWholeNumber(
      "CAREID_MESSAGE_ATTEMPTS",
      source.CAREID_MESSAGE_ATTEMPTS ?? "8",
      { from: 1, to: 50, unit: "attempts" },
      problems,
    ),
  };
}
