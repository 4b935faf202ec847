import { escapeHtml } from "./agent-page.ts";
import type { Tickets } from "./tickets.ts";

/**
 * The CIS1 part of the agent's own page: while an application waits for a ticket and the
 * holder has several positions, a plain form to choose the one they work in for the session.
 */
export function ticketSection(state: ReturnType<Tickets["pageState"]>): string {
  if (!state) return "";
  if ("workingAs" in state)
    return `<p id="ticket-status">Applications see you working as ${escapeHtml(state.workingAs)}.</p>`;
  const choices = state.choosing
    .map(
      (role) =>
        `<p><input type="radio" name="role" id="role-${escapeHtml(role.roleProfileId)}" value="${escapeHtml(role.roleProfileId)}"> <label for="role-${escapeHtml(role.roleProfileId)}">${escapeHtml(role.jobRole)} at ${escapeHtml(role.organisation)} (${escapeHtml(role.odsCode)})</label></p>`,
    )
    .join("\n");
  return `<form method="post" action="/select-role" id="select-role-form">
<fieldset><legend>Choose the role you are working in</legend>
${choices}
</fieldset>
<button type="submit">Continue in this role</button>
</form>`;
}
