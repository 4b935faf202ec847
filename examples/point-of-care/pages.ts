import type { Role, SignedInUser } from "./cis2.ts";

/** Plain HTML pages in the NHS design system's styles. Every interpolated value is escaped. */
class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const entities: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join("");
  if (value === undefined || value === null || value === false) return "";
  return String(value).replace(/[&<>"']/g, (character) => entities[character] ?? character);
}

function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  return new Html(strings.reduce((out, string, index) => out + render(values[index - 1]) + string));
}

function layout(title: string, content: Html): string {
  return html`<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${title} – Point of care (demo)</title>
  <link rel="stylesheet" href="/nhsuk-frontend.min.css">
</head>
<body>
  <a class="nhsuk-skip-link" href="#maincontent">Skip to main content</a>
  <header class="nhsuk-header">
    <div class="nhsuk-header__container nhsuk-width-container">
      <a class="nhsuk-header__service-name" href="/">Point of care (demo relying party)</a>
    </div>
  </header>
  <div class="nhsuk-width-container">
    <main class="nhsuk-main-wrapper" id="maincontent">
${content}
    </main>
  </div>
</body>
</html>
`.value;
}

/** `"Clinical":"Clinical Provision":"Nurse Access Role"` gives its parts: staff group, sub-group, job role. */
function roleNameParts(role: Role): string[] {
  const parts = [...role.role_name.matchAll(/"([^"]*)"/g)].map((match) => match[1] ?? "");
  return parts.length ? parts : [role.role_name];
}

function jobRoleName(role: Role): string {
  return roleNameParts(role).at(-1) ?? role.role_code;
}

function organisation(user: SignedInUser, role: Role): string {
  const name = user.organisations.get(role.org_code);
  return name ? `${name} (${role.org_code})` : role.org_code;
}

function summaryRow(key: string, value: unknown): Html {
  return html`<div class="nhsuk-summary-list__row">
          <dt class="nhsuk-summary-list__key">${key}</dt>
          <dd class="nhsuk-summary-list__value">${value}</dd>
        </div>`;
}

export function signedOutPage(notice?: string): string {
  return layout(
    "Sign in",
    html`      <h1 class="nhsuk-heading-l">Point of care</h1>
      ${
        notice
          ? html`<div class="nhsuk-inset-text"><span class="nhsuk-u-visually-hidden">Information: </span><p>${notice}</p></div>`
          : ""
      }
      <p>This demo service shows who you are and the role you are working in, as CIS2 Authentication tells it.</p>
      <a class="nhsuk-button" href="/login" role="button" draggable="false">Sign in with your Care Identity</a>`,
  );
}

export function signedInPage(user: SignedInUser, csrf: string): string {
  const role = user.selectedRole;
  return layout(
    user.displayName,
    html`      <h1 class="nhsuk-heading-l">${user.displayName}</h1>
      <dl class="nhsuk-summary-list">
        ${summaryRow("Name in the Care Identity Service", user.name)}
        ${summaryRow("Care Identity UUID", user.sub)}
        ${summaryRow("Email", user.email)}
        ${summaryRow("Signed in at", new Date(user.authTime * 1000).toISOString())}
        ${summaryRow("How you signed in", `${user.acr ?? "unknown"} (${user.amr.join(", ")}), authentication assurance level ${user.authenticationAssuranceLevel}`)}
        ${summaryRow("Identity assurance level", user.identityAssuranceLevel)}
      </dl>

      <h2 class="nhsuk-heading-m">Your selected role</h2>
      ${
        role
          ? html`<dl class="nhsuk-summary-list" id="selected-role">
        ${summaryRow("Role", jobRoleName(role))}
        ${summaryRow("Full role name", roleNameParts(role).join(" – "))}
        ${summaryRow("Role code", role.role_code)}
        ${summaryRow("Organisation", organisation(user, role))}
        ${summaryRow("Organisation code", role.org_code)}
        ${summaryRow("Role profile ID", role.person_roleid)}
      </dl>
      <h3 class="nhsuk-heading-s">Activities in this role</h3>
      ${
        role.activities?.length
          ? html`<ul class="nhsuk-list nhsuk-list--bullet" id="activities">
        ${role.activities.map((activity, index) => html`<li>${activity}${role.activity_codes?.[index] ? ` (${role.activity_codes[index]})` : ""}</li>`)}
      </ul>`
          : html`<p>This role grants no activities.</p>`
      }`
          : html`<p>You have no role selected: you hold no position in any organisation.</p>`
      }

      <h2 class="nhsuk-heading-m">Your other roles</h2>
      ${
        user.otherRoles.length
          ? html`<table class="nhsuk-table" id="other-roles">
        <caption class="nhsuk-table__caption nhsuk-u-visually-hidden">Your other roles</caption>
        <thead class="nhsuk-table__head"><tr class="nhsuk-table__row">
          <th scope="col" class="nhsuk-table__header">Role</th>
          <th scope="col" class="nhsuk-table__header">Organisation</th>
          <th scope="col" class="nhsuk-table__header">Role profile ID</th>
        </tr></thead>
        <tbody class="nhsuk-table__body">
        ${user.otherRoles.map(
          (other) => html`<tr class="nhsuk-table__row">
          <td class="nhsuk-table__cell">${jobRoleName(other)}</td>
          <td class="nhsuk-table__cell">${organisation(user, other)}</td>
          <td class="nhsuk-table__cell">${other.person_roleid}</td>
        </tr>`,
        )}
        </tbody>
      </table>`
          : html`<p>You have no other roles.</p>`
      }

      <form method="post" action="/logout">
        <input type="hidden" name="csrf" value="${csrf}">
        <button class="nhsuk-button nhsuk-button--secondary" type="submit">Sign out</button>
      </form>`,
  );
}

export function problemPage(title: string, detail: string): string {
  return layout(
    title,
    html`      <h1 class="nhsuk-heading-l">${title}</h1>
      <p>${detail}</p>
      <p><a href="/">Go back to the start</a></p>`,
  );
}
