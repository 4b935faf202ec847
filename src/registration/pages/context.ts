import { fileURLToPath } from "node:url";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Actor } from "../../audit/actor.ts";
import type { FieldProblem } from "../../errors.ts";
import type { Person } from "../../people/people.ts";
import { type RaHolding, raHoldings, raRoleNames } from "../../ra-policy/policy.ts";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";
import type { FirstPartyApp } from "../../web/first-party/app.ts";
import { issueFormToken } from "../../web/first-party/form-tokens.ts";
import type { FirstPartySession } from "../../web/first-party/sessions.ts";
import type { FirstPartySignIn } from "../../web/first-party/sign-in.ts";
import { type PageContext, pageRenderer } from "../../web/pages.ts";
import type { OtherReports } from "../reports.ts";

/** What every CIM route needs. */
export type Cim = {
  db: Db;
  sealer: Sealer;
  lists: CodeLists;
  app: FirstPartyApp;
  cis2: FirstPartySignIn;
  /** The CIS2 issuer, whose scheme (with a trusted proxy's word) says whether cookies are Secure. */
  issuer: string;
  /** The reports whose figures another capability keeps. */
  otherReports: OtherReports;
};

/** The signed-in user of a request, set by the session check before any route runs. */
export type SignedIn = { session: FirstPartySession; person: Person; holdings: RaHolding[] };

const signedInUsers = new WeakMap<FastifyRequest, SignedIn>();

export function setSignedIn(request: FastifyRequest, signedIn: SignedIn): void {
  signedInUsers.set(request, signedIn);
}

export function signedIn(request: FastifyRequest): SignedIn {
  const user = signedInUsers.get(request);
  if (!user) throw new Error("a CIM route ran without a signed-in user");
  return user;
}

export async function signedInAs(db: Db, session: FirstPartySession, person: Person): Promise<SignedIn> {
  return { session, person, holdings: (await raHoldings(db, person.uuid)) ?? [] };
}

/** The acting identity for domain functions; the policy names the position acted in. */
export function actorOf(request: FastifyRequest): Actor {
  return { kind: "person", id: signedIn(request).person.uuid, source: "CIM", correlationId: request.id };
}

const renderer = pageRenderer([fileURLToPath(new URL("../views/", import.meta.url))]);

export function displayName(person: Partial<Pick<Person, "title" | "givenName" | "familyName">>): string {
  return [person.title, person.givenName, person.familyName].filter(Boolean).join(" ");
}

/** The sections of CIM in the header, each shown only to those whose roles can use it. */
function navigation(user: SignedIn, path: string) {
  const roles = new Set(user.holdings.map((holding) => holding.role));
  const approver = roles.has("RAM") || roles.has("RAA_ADVANCED") || roles.has("RAA");
  const definer = roles.has("RAM") || roles.has("RAA_ADVANCED");
  const items = [
    { href: "/cim/profiles", text: "Find a profile", show: true },
    { href: "/cim/requests", text: "Requests", show: approver || roles.has("SPONSOR") },
    { href: "/cim/positions", text: "Positions", show: definer },
    { href: "/cim/workgroups", text: "Workgroups", show: roles.has("RAM") },
    {
      href: "/cim/organisations",
      text: "Organisations",
      show: user.holdings.some((holding) => holding.role === "RAM" && holding.national),
    },
    {
      href: "/cim/apply",
      text: "Apply for Care ID",
      show: approver || roles.has("SPONSOR") || roles.has("ID_CHECKER"),
    },
    {
      href: "/cim/reports",
      text: "Reports",
      show: approver || roles.has("SPONSOR") || roles.has("ID_CHECKER"),
    },
  ];
  return items
    .filter((item) => item.show)
    .map(({ href, text }) => ({ href, text, current: path.startsWith(href) }));
}

/** What a page says after an action succeeded and redirected to it with ?done=... */
const doneMessages: Record<string, string> = {
  created: "The profile was created.",
  changed: "The details were changed.",
  closed:
    "The profile was closed: its positions ended, its requests closed and its authenticators cancelled.",
  reopened: "The profile was reopened.",
  assigned: "The position was assigned.",
  requested: "Your request was sent to the Registration Authority.",
  dates: "The assignment's dates were changed.",
  removed: "The assignment was removed.",
  "link-sent": "An enrolment link was issued.",
  "authenticator-removed": "The authenticator was removed.",
  "contact-changed": "Your contact details were saved.",
  "app-unlocked": "The authenticator app was unlocked.",
  "password-reset-forced":
    "The authenticator app's password no longer signs in. Its holder resets it at /authenticators/password-reset with a code sent to their email and a code from their app.",
  "card-cancelled": "The card was cancelled and its certificates revoked.",
  "card-lost": "The card was recorded as lost and its certificates revoked.",
  "card-stolen": "The card was recorded as stolen and its certificates revoked.",
  defined: "The position was defined.",
  sponsor: "The sponsor's positions were saved.",
  batch: "The position was assigned to everyone listed.",
  approved: "The request was approved and carried out.",
  rejected: "The request was rejected.",
  "client-approved": "The client was approved: it can now sign people in.",
  "client-removed": "The client was removed; its tokens no longer work.",
  invited: "The invitation was emailed to the applicant.",
  "invited-many": "The invitations were emailed to the applicants on the good rows.",
  resent: "A new link was emailed; the old one no longer works.",
  withdrawn: "The invitation was withdrawn; its link no longer works.",
  "application-approved": "The application was approved: the profile was created and its UUID emailed.",
  "application-rejected": "The application was rejected and the applicant emailed the reason.",
  "workgroup-created": "The workgroup was created.",
  "workgroup-changed": "The workgroup was changed.",
  "organisation-added": "The organisation was added.",
  "organisation-renamed": "The organisation's name was corrected.",
};

/** Renders a CIM page for the signed-in user, with a fresh form token for any form on it. */
export function renderCimPage(
  request: FastifyRequest,
  reply: FastifyReply,
  view: string,
  context: PageContext = {},
  statusCode = 200,
): FastifyReply {
  const user = signedIn(request);
  const done = (request.query as Record<string, unknown> | undefined)?.done;
  reply.header("cache-control", "no-store");
  return renderer.renderPage(
    reply,
    view,
    {
      serviceName: "Care Identity Management",
      user: { name: displayName(user.person), uuid: user.person.uuid },
      roles: [...new Set(user.holdings.map((holding) => raRoleNames[holding.role]))],
      navigation: navigation(user, request.url),
      formToken: issueFormToken(user.session),
      done: typeof done === "string" ? doneMessages[done] : undefined,
      ...context,
    },
    statusCode,
  );
}

/** A page for someone not signed in (sign-in problems, signed out). */
export function renderPublicPage(
  reply: FastifyReply,
  view: string,
  context: PageContext = {},
  statusCode = 200,
): FastifyReply {
  reply.header("cache-control", "no-store");
  return renderer.renderPage(
    reply,
    view,
    { serviceName: "Care Identity Management", ...context },
    statusCode,
  );
}

/**
 * The design system's error summary and per-field messages from a domain error's problems.
 * Domain messages name no field ("must be 12 digits"); the page's label for it comes first.
 */
export function errorsFrom(
  problems: FieldProblem[],
  labels: Record<string, string> = {},
  /** The form field that shows a problem: by default the one named by the problem. */
  fieldOf: (field: string) => string = (field) => field,
) {
  const sentence = (problem: FieldProblem) =>
    /^[a-z]/.test(problem.message)
      ? `${labels[problem.field] ?? problem.field} ${problem.message}`
      : problem.message;
  const errorList = problems.map((problem) => ({
    text: sentence(problem),
    href: `#${fieldOf(problem.field).replace(/[^A-Za-z0-9_-]/g, "-")}`,
  }));
  const fieldErrors: Record<string, { text: string }> = {};
  for (const problem of problems) fieldErrors[fieldOf(problem.field)] ??= { text: sentence(problem) };
  return { errorList, fieldErrors };
}
