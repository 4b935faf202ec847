import type { TestContext } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { loadConfig } from "../../src/config.ts";
import { issueApplication } from "../../src/directory/applications/applications.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { seedDemo } from "../../src/seed/demo.ts";
import { buildServer } from "../../src/server.ts";
import { testStore } from "./test-store.ts";

/** The service over the demo directory, with an application key to call the directory APIs. */
export async function directoryServer(t: TestContext, options: { rateLimitPerMinute?: number } = {}) {
  const store = await testStore(t);
  await seedDemo(store.db, operatorActor());
  const app = await buildServer({
    config: loadConfig({ LOG_LEVEL: "silent" }),
    store,
    lists: await readCodeLists(store.db),
    demo: true,
  });
  t.after(() => app.close());
  const { key, application } = await issueApplication(store.db, operatorActor(), {
    name: "Test client",
    rateLimitPerMinute: options.rateLimitPerMinute ?? 10_000,
  });
  const uuidOf = async (familyName: string) => {
    const row = await store.db
      .selectFrom("people")
      .select("uuid")
      .where("family_name", "=", familyName)
      .executeTakeFirstOrThrow();
    return row.uuid;
  };
  return { app, store, key, application, uuidOf };
}
