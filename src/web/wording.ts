import { isMethod, type Method, methods } from "../assurance/methods.ts";

/**
 * How pages say dates, times, sign-in methods and audit events: NHS style, in UK time, in
 * words. Every page reads them through these functions (and the Nunjucks filters of the same
 * names), so one thing is said one way everywhere.
 */

/** The clock pages speak in, whatever the server's own time zone. */
export const pageTimeZone = "Europe/London";

const isoDatePattern = /^(\d{4})-(\d{2})-(\d{2})$/;

const dayFormat = new Intl.DateTimeFormat("en-GB", {
  day: "numeric",
  month: "long",
  year: "numeric",
  timeZone: pageTimeZone,
});

const clockFormat = new Intl.DateTimeFormat("en-GB", {
  hour: "numeric",
  minute: "2-digit",
  hour12: true,
  timeZone: pageTimeZone,
});

function asDate(value: Date | string): Date | undefined {
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/**
 * "19 December 1988". A calendar date (YYYY-MM-DD) is that day wherever the reader is; an
 * instant is the day it was in the UK.
 */
export function longDate(value: Date | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  if (typeof value === "string") {
    const [, year, month, day] = isoDatePattern.exec(value) ?? [];
    if (year && month && day) return dayFormat.format(new Date(Date.UTC(+year, +month - 1, +day, 12)));
  }
  const date = asDate(value);
  return date ? dayFormat.format(date) : String(value);
}

/** "2:05pm", "9am": the NHS style for a time of day, on the UK's clock. */
export function clockTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  const date = asDate(value);
  if (!date) return String(value);
  const parts = Object.fromEntries(clockFormat.formatToParts(date).map((part) => [part.type, part.value]));
  const hour = parts.hour === "0" ? "12" : parts.hour;
  const minute = parts.minute === "00" ? "" : `:${parts.minute}`;
  return `${hour}${minute}${String(parts.dayPeriod).toLowerCase().replaceAll(".", "").replaceAll(" ", "")}`;
}

/** "19 December 2025 at 2:05pm", UK time. */
export function dateAndTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined || value === "") return "";
  return `${longDate(asDate(value) ?? value)} at ${clockTime(value)}`;
}

/** "in 3 days", "in 5 hours", "in 20 minutes": how long until an instant, to the minute, then in whole units. */
export function timeLeft(value: Date | string | null | undefined, now = new Date()): string {
  const date = value === null || value === undefined || value === "" ? undefined : asDate(value);
  if (!date) return "";
  const minutes = Math.round((date.getTime() - now.getTime()) / 60_000);
  if (minutes < 1) return "in less than a minute";
  const [count, unit] =
    minutes >= 48 * 60
      ? [Math.floor(minutes / (24 * 60)), "day"]
      : minutes >= 120
        ? [Math.floor(minutes / 60), "hour"]
        : [minutes, "minute"];
  return `in ${count} ${unit}${count === 1 ? "" : "s"}`;
}

/** One name for each way of signing in, as CIS2's method list gives it. */
export function methodName(method: string | null | undefined): string {
  if (!method) return "";
  return isMethod(method) ? methods[method].label : method;
}

/** What a method's assurance means to its holder, in words. */
export function assuranceWords(method: string | null | undefined): string {
  if (!isMethod(method)) return "";
  const aal = methods[method as Method].aal;
  if (aal >= 3) return "Can be used for services that need high assurance";
  if (aal === 2) return "Cannot be used for services that need high assurance";
  return "Only for development: no service accepts it";
}

/** Audit events as a history reads them; an event not named here is said from its code. */
const eventNames: Record<string, string> = {
  "person.created": "Profile created",
  "person.closed": "Profile closed",
  "person.reopened": "Profile reopened",
  "profile.identity-verified": "Identity verified",
  "profile.details-changed": "Details changed",
  "profile.closed": "Profile closed",
  "profile.reopened": "Profile reopened",
  "position.granted": "Position granted",
  "position.ended": "Position ended",
  "assignment.created": "Position assigned",
  "assignment.dates-changed": "Position dates changed",
  "assignment.removed": "Position removed",
  "password.set": "Password set",
  "totp.enrolled": "Authenticator app added",
  "totp.locked": "Authenticator app locked",
  "totp.unlocked": "Authenticator app unlocked",
  "webauthn.registered": "Security key or passkey added",
  "authenticator.removed": "Authenticator removed",
  "authenticator.renamed": "Authenticator renamed",
  "authenticator.link-issued": "Enrolment link issued",
  "enrolment-link.issued": "Enrolment link issued",
  "smartcard.issued": "Smartcard issued",
  "smartcard.renewed": "Smartcard renewed",
  "smartcard.locked": "Smartcard locked",
  "smartcard.order-created": "Smartcard order made",
  "smartcard.unlock-code-released": "Smartcard unlock code released",
  "request.created": "Request made",
  "request.opened": "Request opened",
  "request.approved": "Request approved",
  "request.rejected": "Request rejected",
  "cis2.authenticated": "Signed in",
  "cis2.role-selected": "Role chosen at sign-in",
};

export function eventWords(action: string | null | undefined): string {
  if (!action) return "";
  const named = eventNames[action];
  if (named) return named;
  const words = action.replace(/[._-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The filters every page renderer gets, named as the functions are. */
export const wordingFilters = {
  longDate,
  clockTime,
  dateAndTime,
  timeLeft,
  methodName,
  assuranceWords,
  eventWords,
};
