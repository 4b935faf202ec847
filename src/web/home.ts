import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import { realmPath } from "../config.ts";
import type { Store } from "../store/database.ts";
import { renderPage } from "./pages.ts";

/** The parts of the service, as the home page lists them; each gains a link as it lands. */
const parts = [
  {
    name: "Care Identity profiles and positions",
    description: "Verified identities, national RBAC positions and the audit log",
    status: "available",
  },
  {
    name: "National RBAC reference data",
    description: "Job roles, activities and their baselines",
    href: "/api/rbac/job-roles",
  },
  { name: "Organisations", description: "Organisations by ODS code", href: "/api/organisations" },
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
    name: "Care Identity Management",
    description: "The Registration Authority application: profiles, positions, requests, reports",
    href: "/cim/",
  },
  {
    name: "Your authenticators",
    description:
      "Sign in and see, rename, remove or add your security keys, Windows Hello, passkeys and authenticator app",
    href: "/authenticators/mine",
  },
  {
    name: "Service health",
    description: "Readiness, liveness and Prometheus metrics",
    href: "/health/ready",
  },
];
const demoPart = {
  name: "Demo users",
  description: "Fictional people to sign in as, with the development password",
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
