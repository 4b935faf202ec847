import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Store } from "../store/database.ts";

/** Set when the node is shutting down: it still serves, but asks to be taken out of rotation. */
export type Lifecycle = { draining: boolean };

/**
 * Liveness says the process answers; readiness says it can do its work, which needs the
 * database. A load balancer takes a node out of rotation when readiness fails: while the
 * database is away (it comes back by itself when the database does) and while the node drains.
 */
export function registerHealth(app: FastifyInstance, store: Store, lifecycle: Lifecycle): void {
  app.get("/health/live", { logLevel: "warn" }, async () => ({ status: "pass" }));
  app.get("/health/ready", { logLevel: "warn" }, async (_request, reply) => {
    const fail = (output: string) =>
      reply
        .code(503)
        .type("application/health+json")
        .send({
          status: "fail",
          checks: { "database:responseTime": [{ status: "fail", componentType: store.kind, output }] },
        });
    if (lifecycle.draining) return fail("shutting down");
    const started = performance.now();
    try {
      await sql`SELECT 1`.execute(store.db);
    } catch (error) {
      app.log.warn({ err: error }, "readiness check: database unreachable");
      return fail("database unreachable");
    }
    const milliseconds = Math.round((performance.now() - started) * 10) / 10;
    return reply.type("application/health+json").send({
      status: "pass",
      checks: {
        "database:responseTime": [
          { status: "pass", observedValue: milliseconds, observedUnit: "ms", componentType: store.kind },
        ],
      },
    });
  });
}
