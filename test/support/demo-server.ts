import type { TestContext } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { loadConfig } from "../../src/config.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { seedDemo } from "../../src/seed/demo.ts";
import { buildServer } from "../../src/server.ts";
import { testStore } from "./test-store.ts";

/** The HTTP service over the demo directory, for app.inject (no CIS2 provider, no port). */
export async function demoServer(t: TestContext) {
  const store = await testStore(t);
  await seedDemo(store.db, operatorActor());
  const app = await buildServer({
    config: loadConfig({ LOG_LEVEL: "silent" }),
    store,
    lists: await readCodeLists(store.db),
    demo: true,
  });
  t.after(() => app.close());
  return { app, store };
}
