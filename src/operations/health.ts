import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Store } from "../store/database.ts";

/**
 * Liveness says the process answers; readiness says it can do its work, which needs the
 * database. A load balancer takes a node out of rotation when readiness fails.
 */
export function registerHealth(app: FastifyInstance, store: Store): void {
  app.get("/health/live", { logLevel: "warn" }, async () => ({ status: "pass" }));
  app.get("/health/ready", { logLevel: "warn" }, async (_request, reply) => {
    const started = performance.now();
    try {
      await sql`SELECT 1`.execute(store.db);
      const milliseconds = Math.round((performance.now() - started) * 10) / 10;
      return reply.type("application/health+json").send({
        status: "pass",
        checks: {
          "database:responseTime": [
            { status: "pass", observedValue: milliseconds, observedUnit: "ms", componentType: store.kind },
          ],
        },
      });
    } catch (error) {
      app.log.error({ err: error }, "readiness check: database unreachable");
      return reply
        .code(503)
        .type("application/health+json")
        .send({
          status: "fail",
          checks: {
            "database:responseTime": [
              { status: "fail", componentType: store.kind, output: "database unreachable" },
            ],
          },
        });
    }
  });
}
