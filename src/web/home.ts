import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { realmPath } from "../config.ts";
import type { Store } from "../store/database.ts";
import { renderPage } from "./pages.ts";

/** The parts of the service a visitor can open, as the home page lists them. */
const parts = [
  {
    name: "Care Identity Management",
    description: "The Registration Authority application: profiles, positions, requests, reports",
    href: "/cim/",
  },
  {
    name: "Find a Care Identity profile",
    description: "Verified identities and their national RBAC positions, by name, UUID or organisation",
    href: "/cim/profiles",
  },
  {
    name: "Your authenticators",
    description:
      "Sign in and see, rename, remove or add your security keys, Windows Hello, passkeys and authenticator app",
    href: "/authenticators/mine",
  },
  {
    name: "Unlock your smartcard",
    description: "With a code sent to your phone or NHS.net email, and the card in its reader",
    href: "/smartcard/unlock",
  },
  {
    name: "Apply for Care ID",
    description: "RA staff and sponsors invite applicants, who prove who they are online; reviewed in CIM",
    href: "/cim/apply",
  },
  {
    name: "CIS2 Authentication",
    description: "OpenID Connect single sign-on for clinical systems: discovery document",
    href: `${realmPath}/.well-known/openid-configuration`,
  },
  {
    name: "Spine Directory Service",
    description: "Healthcare Worker, SDS and organisation FHIR APIs, and LDAP: capability statement",
    href: "/healthcare-worker/FHIR/R4/metadata",
  },
  {
    name: "National RBAC reference data",
    description: "Job roles, activities and their baselines",
    href: "/api/rbac/job-roles",
  },
  { name: "Organisations", description: "Organisations by ODS code", href: "/api/organisations" },
  {
    name: "Service health",
    description: "Readiness, liveness and Prometheus metrics",
    href: "/health/ready",
  },
];
const demoPart = {
  name: "Demo users",
  description:
    "Fictional people to sign in as: who is an RA or a sponsor, the development password, authenticator apps ready to use",
  href: "/demo/users",
};

const demoMessagesPart = {
  name: "Messages sent (demo)",
  description: "Email and text messages the demo wrote to its outbox folder instead of sending",
  href: "/demo/messages",
};

export function registerHome(
  app: FastifyInstance,
  store: Store,
  demo: boolean,
  demoUsers = false,
  shown: { messages?: boolean } = {},
): void {
  app.get("/", async (_request, reply) => {
    const result = await sql<{ people: number; positions: number; organisations: number }>`
      SELECT (SELECT count(*) FROM people)::int AS people,
             (SELECT count(*) FROM positions WHERE status = 'active')::int AS positions,
             (SELECT count(*) FROM organisations)::int AS organisations`.execute(store.db);
    return renderPage(reply, "home.njk", {
      counts: result.rows[0],
      parts: [...parts, ...(demoUsers ? [demoPart] : []), ...(shown.messages ? [demoMessagesPart] : [])],
      demo,
    });
  });
}
