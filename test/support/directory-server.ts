import type { TestContext } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { issueApplication } from "../../src/directory/applications/applications.ts";
import { demoServer } from "./demo-server.ts";

/** The service over the demo directory, with an application key to call the directory APIs. */
export async function directoryServer(t: TestContext, options: { rateLimitPerMinute?: number } = {}) {
  const { app, store } = await demoServer(t);
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
