import assert from "node:assert/strict";
import { test } from "node:test";
import { sql } from "kysely";
import { testStore } from "../../test/support/test-store.ts";

// On PostgreSQL a transaction's BEGIN travels with its first statement when that takes no values
// (database.ts, beginWithFirstStatement); these hold on both databases, whichever way it is sent.

const transactionId = sql<{ id: string }>`SELECT txid_current()::text AS id`;

test("a first statement without values runs inside its transaction", async (t) => {
  const { db } = await testStore(t);
  const [first, second] = await db.transaction().execute(async (tx) => {
    const opened = (await transactionId.execute(tx)).rows[0]?.id;
    const again = (await sql<{ id: string }>`SELECT txid_current()::text AS id, ${1}::int AS n`.execute(tx))
      .rows[0]?.id;
    return [opened, again];
  });
  assert.ok(first);
  assert.equal(first, second);
  const outside = (await transactionId.execute(db)).rows[0]?.id;
  assert.notEqual(outside, first);
});

test("a first statement with values runs inside its transaction too", async (t) => {
  const { db } = await testStore(t);
  const [first, second] = await db.transaction().execute(async (tx) => {
    const opened = (await sql<{ id: string }>`SELECT txid_current()::text AS id, ${1}::int AS n`.execute(tx))
      .rows[0]?.id;
    return [opened, (await transactionId.execute(tx)).rows[0]?.id];
  });
  assert.equal(first, second);
});

test("what a rolled-back transaction's first statement wrote is gone, and the connection is whole", async (t) => {
  const { db } = await testStore(t);
  await sql`CREATE TABLE begin_probe (n int)`.execute(db);
  await assert.rejects(
    db.transaction().execute(async (tx) => {
      await sql`INSERT INTO begin_probe VALUES (1)`.execute(tx);
      throw new Error("changed its mind");
    }),
    /changed its mind/,
  );
  // A transaction that ends before any statement, then one that fails in its first.
  await assert.rejects(
    db.transaction().execute(async () => {
      throw new Error("before anything");
    }),
    /before anything/,
  );
  await assert.rejects(
    db.transaction().execute((tx) => sql`SELECT * FROM no_such_table`.execute(tx)),
    /no_such_table/,
  );
  const count = await sql<{ n: number }>`SELECT count(*)::int AS n FROM begin_probe`.execute(db);
  assert.equal(count.rows[0]?.n, 0);
  await db.transaction().execute((tx) => sql`INSERT INTO begin_probe VALUES (2)`.execute(tx));
  const kept = await sql<{ n: number }>`SELECT n FROM begin_probe`.execute(db);
  assert.deepEqual(kept.rows, [{ n: 2 }]);
});
