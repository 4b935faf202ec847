import assert from "node:assert/strict";
import { test } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { listeningClientCache } from "../../src/cis2/client-cache.ts";
import { addClient, readClientMetadata, removeClient } from "../../src/cis2/clients.ts";
import { sealerFor } from "../../src/secrets/sealed.ts";
import { onPostgres, testStore, withDatabase } from "../support/test-store.ts";

const client = {
  client_id: "777777777777.apps.national",
  client_name: "Cached relying party",
  token_endpoint_auth_method: "client_secret_post",
  client_secret: "a-client-secret-that-is-long-enough-to-use",
  redirect_uris: ["http://127.0.0.1:3001/callback"],
};

async function eventually(check: () => Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail("did not happen within 10 seconds");
}

test("a kept client is forgotten when the registry changes, by a notice from PostgreSQL", {
  skip: !onPostgres && "needs PostgreSQL (TEST_DATABASE_URL)",
}, async (t) => {
  const store = await testStore(t);
  const sealer = sealerFor(Buffer.alloc(32, 7));
  const databaseUrl = withDatabase(
    process.env.TEST_DATABASE_URL as string,
    new URL(store.location).pathname.slice(1),
  );
  const cache = listeningClientCache(databaseUrl);
  t.after(() => cache.close());
  let loads = 0;
  const read = () =>
    cache.read(client.client_id, () => {
      loads++;
      return readClientMetadata(store.db, sealer, client.client_id);
    });

  await addClient(store.db, operatorActor(), sealer, client, async () => {});
  // Once the cache listens, reads are answered from memory.
  await eventually(async () => {
    const before = loads;
    await read();
    return loads === before;
  });
  assert.equal((await read())?.client_secret, client.client_secret);

  await removeClient(store.db, operatorActor(), client.client_id);
  await eventually(async () => (await read()) === undefined);
  const afterRemoval = loads;
  assert.equal(await read(), undefined, "an unknown client is not kept");
  assert.equal(loads, afterRemoval + 1);
  // Before the store's clean-up, which drops the database once its sessions have gone.
  await cache.close();
});
