import type { CardStatus } from "./agent.ts";
import { cardLifeForms } from "./card-life.ts";

/**
 * The agent's own page, served from its localhost origin: the only place the passcode and the
 * RA's order code are typed. Plain forms, no scripts; what the card can do now decides which.
 */
export function agentPage(
  status: CardStatus,
  message?: { text: string; error: boolean },
  refusedOrigins: string[] = [],
  /** Further sections, e.g. the CIS1 role choice (ticket-page.ts). */
  more = "",
): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Care Identity smartcard agent</title></head>
<body>
<main>
<h1>Care Identity smartcard agent</h1>
${message ? `<p role="${message.error ? "alert" : "status"}" id="message" data-error="${message.error}">${escapeHtml(message.text)}</p>` : ""}
${describe(status)}
${forms(status)}
${status.present && !status.blank ? cardLifeForms(form, field) : ""}
${more}
${
  refusedOrigins.length > 0
    ? `<h2>Refused calls</h2><p>These web pages tried to use your smartcard and were refused:</p><ul>${refusedOrigins.map((origin) => `<li>${escapeHtml(origin)}</li>`).join("")}</ul>`
    : ""
}
</main>
</body>
</html>`;
}

function describe(status: CardStatus): string {
  if (!status.present) return `<p id="card-status">Insert your smartcard into the reader.</p>`;
  const state = status.blank
    ? "blank: it can be issued"
    : status.locked
      ? "locked"
      : status.signedIn
        ? "ready to use"
        : "waiting for its passcode";
  return `<p id="card-status">Smartcard ${escapeHtml(status.cardSerial)} is ${state}.</p>`;
}

function forms(status: CardStatus): string {
  if (!status.present) return "";
  if (status.blank)
    return form("issue", "Issue this smartcard", [
      field("orderCode", "Order code from your RA", "text"),
      field("passcode", "Choose a passcode", "password"),
      field("confirmation", "Enter the passcode again", "password"),
    ]);
  if (status.locked)
    return form("unlock", "Unlock this smartcard", [
      field("orderCode", "Unlock order code from your RA or smartcard administrator", "text"),
      field("passcode", "Choose a new passcode", "password"),
      field("confirmation", "Enter the new passcode again", "password"),
    ]);
  if (status.signedIn) return form("sign-out", "Sign out of this smartcard", []);
  return form("passcode", "Use this smartcard", [field("passcode", "Passcode", "password")]);
}

export function form(action: string, button: string, fields: string[]): string {
  return `<form method="post" action="/${action}" id="${action}-form">
${fields.join("\n")}
<button type="submit">${button}</button>
</form>`;
}

export function field(name: string, label: string, type: "text" | "password"): string {
  return `<p><label for="${name}">${label}</label><br><input id="${name}" name="${name}" type="${type}" autocomplete="off" ${type === "password" ? 'inputmode="numeric"' : 'spellcheck="false"'}></p>`;
}

export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (character) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[character] as string,
  );
}
