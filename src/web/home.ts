import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
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
    description: "OpenID Connect single sign-on for clinical systems",
    status: "coming",
  },
  {
    name: "Care Identity Management",
    description: "The Registration Authority application",
    status: "coming",
  },
  {
    name: "Authenticators and smartcards",
    description: "Security keys, Windows Hello, passkeys, authenticator apps and smartcards",
    status: "coming",
  },
  {
    name: "Spine Directory Service",
    description: "Healthcare Worker FHIR, SDS FHIR, organisation FHIR and LDAP",
    status: "coming",
  },
  {
    name: "Service health",
    description: "Readiness, liveness and Prometheus metrics",
    href: "/health/ready",
  },
];

export function registerHome(app: FastifyInstance, store: Store, demo: boolean): void {
  app.get("/", async (_request, reply) => {
    const result = await sql<{ people: number; positions: number; organisations: number }>`
      SELECT (SELECT count(*) FROM people)::int AS people,
             (SELECT count(*) FROM positions WHERE status = 'active')::int AS positions,
             (SELECT count(*) FROM organisations)::int AS organisations`.execute(store.db);
    return renderPage(reply, "home.njk", { counts: result.rows[0], parts, demo });
  });
}
