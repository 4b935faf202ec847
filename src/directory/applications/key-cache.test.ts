import assert from "node:assert/strict";
import { test } from "node:test";
import { onPostgres, testStore, withDatabase } from "../../../test/support/test-store.ts";
import { operatorActor } from "../../audit/actor.ts";
import type { Store } from "../../store/database.ts";
import { issueApplication, revokeApplication } from "./applications.ts";
import { ApplicationKeyCache } from "./key-cache.ts";

async function eventually(check: () => boolean): Promise<void> {
  for (let attempt = 0; attempt < 200 && !check(); attempt++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(check(), "did not happen within 10 seconds");
}

test("a key revoked through another connection stops working at once in a listening cache", {
  skip: !onPostgres && "needs PostgreSQL (TEST_DATABASE_URL)",
}, async (t) => {
  const store = await testStore(t);
  const databaseUrl = withDatabase(
    process.env.TEST_DATABASE_URL as string,
    new URL(store.location).pathname.slice(1),
  );
  // A TTL far longer than the test: only the notice can make the cache forget.
  const cache = new ApplicationKeyCache(store.db, { databaseUrl, ttlMilliseconds: 3_600_000 });
  // Closed in the test itself: the store's clean-up drops the database, which waits for it.
  try {
    await revocationReaches(store, cache);
  } finally {
    await cache.close();
  }
});

async function revocationReaches(store: Store, cache: ApplicationKeyCache): Promise<void> {
  const issued = await issueApplication(store.db, operatorActor(), { name: "Cached caller", admin: false });
  await eventually(() => cache.listening);
  assert.equal(cache.remembered(issued.key), undefined, "not remembered before its first lookup");
  assert.equal((await cache.lookup(issued.key))?.id, issued.application.id);
  assert.equal(cache.remembered(issued.key)?.id, issued.application.id);

  await revokeApplication(store.db, operatorActor(), issued.application.id);
  let revokedSeen = false;
  for (let attempt = 0; attempt < 40 && !revokedSeen; attempt++) {
    revokedSeen =
      cache.remembered(issued.key) === undefined && (await cache.lookup(issued.key)) === undefined;
    if (!revokedSeen) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.ok(revokedSeen, "the revoked key is refused within a second");
}

test("without a listener the cache keeps keys for its TTL", async (t) => {
  const store = await testStore(t);
  const cache = new ApplicationKeyCache(store.db, { ttlMilliseconds: 3_600_000 });
  const issued = await issueApplication(store.db, operatorActor(), { name: "Embedded caller", admin: false });
  assert.equal((await cache.lookup(issued.key))?.id, issued.application.id);
  await revokeApplication(store.db, operatorActor(), issued.application.id);
  assert.equal((await cache.lookup(issued.key))?.id, issued.application.id, "kept until forgotten");
  cache.forget();
  assert.equal(await cache.lookup(issued.key), undefined);
});
