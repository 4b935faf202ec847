import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { type TestContext, test } from "node:test";
import { sql } from "kysely";
import pg from "pg";
import { rewriteAuditLog } from "../../test/support/audit-tamper.ts";
import { testMasterKey, withDatabase } from "../../test/support/test-store.ts";
import { createPerson } from "../people/people.ts";
import { type Db, openStore, type Store } from "../store/database.ts";
import { migrate, migrationNames } from "../store/migrate.ts";
import { operatorActor } from "./actor.ts";
import { canonicalJson, eventHash, unkeyedChain } from "./chain.ts";
import { withAuditKey } from "./chain-key.ts";
import { pinUnkeyedEvents } from "./keying.ts";
import { verifyAuditLog } from "./verify.ts";

const firstKeyedMigration = "0015_audit_keyed_chain.sql";

/** An empty database of its own: in-memory PGlite, or a new PostgreSQL database when TEST_DATABASE_URL is set. */
async function emptyStore(t: TestContext): Promise<Store> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const store = await openStore({ memory: true });
    t.after(() => store.close());
    return store;
  }
  const name = `careid_keying_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const store = await openStore({ databaseUrl: withDatabase(adminUrl, name), poolSize: 2 });
  t.after(async () => {
    await store.close();
    const dropper = new pg.Client({ connectionString: adminUrl });
    await dropper.connect();
    await dropper.query(`DROP DATABASE IF EXISTS ${name}`);
    await dropper.end();
  });
  return store;
}

/** A database as it was before the chain was keyed: the migrations before 0015 applied. */
async function databaseBeforeKeying(t: TestContext): Promise<Store> {
  const store = await emptyStore(t);
  await sql`CREATE TABLE schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`.execute(
    store.db,
  );
  for (const name of migrationNames().filter((name) => name < firstKeyedMigration)) {
    const script = readFileSync(new URL(`../store/migrations/${name}`, import.meta.url), "utf8");
    await store.runScript(`${script}\n;INSERT INTO schema_migrations (name) VALUES ('${name}');`);
  }
  return store;
}

/** Appends an event the way the service did before the chain was keyed: a plain SHA-256 link. */
async function recordUnkeyed(db: Db, action: string): Promise<void> {
  const head = await db.selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow();
  const at = new Date();
  const after = { note: action };
  const hash = eventHash({
    at: at.toISOString(),
    actorKind: "operator",
    actorId: "someone",
    actorRoleId: null,
    action,
    subjectType: null,
    subjectId: null,
    before: null,
    after,
    reason: null,
    source: "CLI",
    correlationId: null,
    previousHash: head.hash,
  });
  const seq = head.seq + 1;
  await sql`INSERT INTO audit_events (seq, at, actor_kind, actor_id, action, after, source, previous_hash, hash)
    VALUES (${seq}, ${at}, 'operator', 'someone', ${action}, ${canonicalJson(after)}::jsonb, 'CLI', ${head.hash}, ${hash})`.execute(
    db,
  );
  await sql`UPDATE audit_head SET seq = ${seq}, hash = ${hash}`.execute(db);
}

test("an upgraded log: the unkeyed events are pinned by one keyed event, and new events are keyed", async (t) => {
  const legacy = await databaseBeforeKeying(t);
  for (const action of ["legacy.one", "legacy.two", "legacy.three"]) await recordUnkeyed(legacy.db, action);
  const store = withAuditKey(legacy, testMasterKey);
  assert.deepEqual(
    await migrate(store),
    migrationNames().filter((name) => name >= firstKeyedMigration),
  );

  const beforePinning = await verifyAuditLog(store.db);
  assert.deepEqual(
    beforePinning.problems.map(({ seq, kind }) => ({ seq, kind })),
    [{ seq: 3, kind: "unkeyed" }],
  );
  assert.match(beforePinning.problems[0]?.message ?? "", /has not been migrated since the chain was keyed/);

  assert.equal(await pinUnkeyedEvents(store.db), 4);
  assert.equal(await pinUnkeyedEvents(store.db), undefined, "pinned once only");
  await createPerson(store.db, operatorActor(), { givenName: "Sam", familyName: "Keyed" });
  const events = await store.db
    .selectFrom("audit_events")
    .select(["seq", "action", "chain_version", "after"])
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    events.map(({ seq, action, chain_version }) => ({ seq, action, chain_version })),
    [
      { seq: 1, action: "legacy.one", chain_version: 1 },
      { seq: 2, action: "legacy.two", chain_version: 1 },
      { seq: 3, action: "legacy.three", chain_version: 1 },
      { seq: 4, action: "audit.chain-keyed", chain_version: 2 },
      { seq: 5, action: "person.created", chain_version: 2 },
    ],
  );
  assert.deepEqual(events[3]?.after, { unkeyedThrough: 3 });
  assert.deepEqual(await verifyAuditLog(store.db), { ok: true, checked: 5, problems: [] });
});

test("an unkeyed event rewritten after the upgrade, its chain recomputed, breaks the pinning event", async (t) => {
  const legacy = await databaseBeforeKeying(t);
  for (const action of ["legacy.one", "legacy.two", "legacy.three"]) await recordUnkeyed(legacy.db, action);
  const store = withAuditKey(legacy, testMasterKey);
  await migrate(store);
  await pinUnkeyedEvents(store.db);

  await rewriteAuditLog(store.db, { from: 2, through: 3, link: eventHash, version: unkeyedChain });

  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, false);
  assert.deepEqual(
    report.problems.map(({ seq, kind }) => ({ seq, kind })),
    [{ seq: 3, kind: "edited" }],
  );
  assert.match(
    report.problems[0]?.message ?? "",
    /event 3 or an event before it was rewritten and the chain recomputed: keyed event 4/,
  );
});
