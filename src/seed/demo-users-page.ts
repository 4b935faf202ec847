import type { FastifyInstance } from "fastify";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Db } from "../store/database.ts";
import { renderPage } from "../web/pages.ts";
import { demoUsers } from "./demo-users.ts";

/**
 * Who a newcomer can sign in as, served by the running demo (the embedded database admits one
 * process, so `careid demo users` cannot run beside it). Only with the development login on.
 */
export function registerDemoUsers(app: FastifyInstance, db: Db, lists: CodeLists): void {
  app.get("/demo/users", async (_request, reply) =>
    renderPage(reply, "demo-users.njk", { pageTitle: "Demo users", users: await demoUsers(db, lists) }),
  );
  app.get("/demo/users.json", async () => demoUsers(db, lists));
}
