import assert from "node:assert/strict";
import { type TestContext, test } from "node:test";
import { sql } from "kysely";
import { rewriteAuditLog } from "../../test/support/audit-tamper.ts";
import { testStore } from "../../test/support/test-store.ts";
import { createPerson } from "../people/people.ts";
import { createOrganisation } from "../rbac/organisations.ts";
import type { Db, Store } from "../store/database.ts";
import { operatorActor } from "./actor.ts";
import { eventHash, eventMac, keyedChain, unkeyedChain } from "./chain.ts";
import { auditChainKey, withAuditKey } from "./chain-key.ts";
import { verifyAuditLog } from "./verify.ts";

const actor = operatorActor();

/** A store with a few audited changes; returns how many events its log holds. */
async function auditedStore(t: TestContext): Promise<{ store: Store; events: number }> {
  const store = await testStore(t);
  await createOrganisation(store.db, actor, { odsCode: "RZZ", name: "Ashcombe Hospitals", type: "RO197" });
  for (const familyName of ["One", "Two", "Three", "Four"]) {
    await createPerson(store.db, actor, { givenName: "Sam", familyName });
  }
  return { store, events: await lastSeq(store.db) };
}

async function lastSeq(db: Db): Promise<number> {
  const row = await db
    .selectFrom("audit_events")
    .select((eb) => eb.fn.max("seq").as("seq"))
    .executeTakeFirstOrThrow();
  return Number(row.seq);
}

/** Tampers as a database superuser would: with the append-only trigger switched off. */
async function asSuperuser(db: Db, statement: ReturnType<typeof sql>): Promise<void> {
  await sql.raw("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only").execute(db);
  await statement.execute(db);
}

function kinds(problems: { seq: number; kind: string }[]) {
  return problems.map(({ seq, kind }) => ({ seq, kind }));
}

test("an untouched log verifies, every event checked", async (t) => {
  const { store, events } = await auditedStore(t);
  assert.ok(events >= 5, "an organisation and four people were recorded");
  const report = await verifyAuditLog(store.db);
  assert.deepEqual(report, { ok: true, checked: events, problems: [] });
});

test("an edited event is reported as edited at its sequence number", async (t) => {
  const { store } = await auditedStore(t);
  await asSuperuser(
    store.db,
    sql`UPDATE audit_events SET after = jsonb_set(after, '{familyName}', '"Forged"'), reason = 'tidy-up' WHERE seq = 3`,
  );
  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, false);
  assert.deepEqual(kinds(report.problems), [{ seq: 3, kind: "edited" }]);
});

test("editing only the reason is found too", async (t) => {
  const { store } = await auditedStore(t);
  await asSuperuser(store.db, sql`UPDATE audit_events SET reason = 'approved' WHERE seq = 4`);
  const report = await verifyAuditLog(store.db);
  assert.deepEqual(kinds(report.problems), [{ seq: 4, kind: "edited" }]);
});

test("a deleted event in the middle is reported missing at its sequence number", async (t) => {
  const { store, events } = await auditedStore(t);
  await asSuperuser(store.db, sql`DELETE FROM audit_events WHERE seq = 3`);
  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, false);
  assert.equal(report.checked, events - 1);
  assert.deepEqual(kinds(report.problems), [{ seq: 3, kind: "missing" }]);
});

test("two events swapped in sequence are reported out of order", async (t) => {
  const { store } = await auditedStore(t);
  await asSuperuser(store.db, sql`UPDATE audit_events SET seq = -1 WHERE seq = 3`);
  await sql`UPDATE audit_events SET seq = 3 WHERE seq = 4`.execute(store.db);
  await sql`UPDATE audit_events SET seq = 4 WHERE seq = -1`.execute(store.db);
  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, false);
  const problems = kinds(report.problems);
  assert.deepEqual(problems.slice(0, 2), [
    { seq: 3, kind: "out-of-order" },
    { seq: 4, kind: "out-of-order" },
  ]);
  assert.ok(
    problems.every((problem) => problem.kind === "out-of-order"),
    "moved rows still match their own hashes: nothing is reported as edited or missing",
  );
  assert.match(report.problems[0]?.message ?? "", /event 3 is out of place/);
});

test("a deleted last event is reported as a truncated log", async (t) => {
  const { store, events } = await auditedStore(t);
  await asSuperuser(store.db, sql`DELETE FROM audit_events WHERE seq = ${events}`);
  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, false);
  assert.equal(report.checked, events - 1);
  assert.deepEqual(kinds(report.problems), [{ seq: events, kind: "truncated" }]);
});

test("the log refuses UPDATE and DELETE while its trigger is on", async (t) => {
  const { store, events } = await auditedStore(t);
  await assert.rejects(
    sql`UPDATE audit_events SET reason = 'tidy-up' WHERE seq = 2`.execute(store.db),
    /append-only: UPDATE refused/,
  );
  await assert.rejects(
    sql`DELETE FROM audit_events WHERE seq = 2`.execute(store.db),
    /append-only: DELETE refused/,
  );
  const reasons = await store.db.selectFrom("audit_events").select("reason").where("seq", "=", 2).execute();
  assert.deepEqual(reasons, [{ reason: null }]);
  assert.deepEqual(await verifyAuditLog(store.db), { ok: true, checked: events, problems: [] });
});

test("concurrent changes still leave one unbroken chain", async (t) => {
  const store = await testStore(t);
  const before = await lastSeq(store.db);
  const people = await Promise.all(
    Array.from({ length: 20 }, (_, index) =>
      createPerson(store.db, actor, {
        givenName: "Concurrent",
        familyName: `Person${"abcdefghijklmnopqrst"[index]}`,
      }),
    ),
  );
  assert.equal(new Set(people.map((person) => person.uuid)).size, 20);
  const created = await store.db
    .selectFrom("audit_events")
    .select("subject_id")
    .where("action", "=", "person.created")
    .execute();
  assert.deepEqual(
    created.map((event) => event.subject_id).sort(),
    people.map((person) => person.uuid).sort(),
  );
  const report = await verifyAuditLog(store.db);
  assert.deepEqual(report, { ok: true, checked: before + 20, problems: [] });
});

function runs(problems: { seq: number; through?: number; kind: string }[]) {
  return problems.map(({ seq, through, kind }) => ({ seq, through, kind }));
}

test("an edit with the chain after it recomputed by the unkeyed algorithm is named at the edited event", async (t) => {
  const { store, events } = await auditedStore(t);
  await rewriteAuditLog(store.db, { from: 3, link: eventHash, version: keyedChain });
  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, false);
  assert.equal(report.checked, events);
  assert.deepEqual(runs(report.problems), [{ seq: 3, through: events, kind: "edited" }]);
  assert.match(
    report.problems[0]?.message ?? "",
    /events 3\.\.\d+ were changed after they were written: their HMACs do not match/,
  );
});

test("the same rewrite marked as written before the chain was keyed is named as unkeyed", async (t) => {
  const { store, events } = await auditedStore(t);
  await rewriteAuditLog(store.db, { from: 3, link: eventHash, version: unkeyedChain });
  const report = await verifyAuditLog(store.db);
  assert.deepEqual(runs(report.problems), [{ seq: 3, through: events, kind: "unkeyed" }]);
  assert.match(report.problems[0]?.message ?? "", /no HMAC although the chain is keyed from event 1/);
});

test("a whole log rewritten with plain hashes is found: its newest event has no HMAC", async (t) => {
  const { store, events } = await auditedStore(t);
  await rewriteAuditLog(store.db, { from: 1, link: eventHash, version: unkeyedChain });
  const report = await verifyAuditLog(store.db);
  assert.equal(report.ok, false);
  assert.deepEqual(runs(report.problems), [{ seq: events, through: undefined, kind: "unkeyed" }]);
  assert.match(report.problems[0]?.message ?? "", new RegExp(`the newest event, ${events}, has no HMAC`));
});

test("a rewrite with HMACs under another key is named at the edited event", async (t) => {
  const { store, events } = await auditedStore(t);
  const otherKey = auditChainKey(Buffer.alloc(32, 0x11));
  await rewriteAuditLog(store.db, {
    from: 4,
    link: (fields) => eventMac(otherKey, fields),
    version: keyedChain,
  });
  const report = await verifyAuditLog(store.db);
  assert.deepEqual(runs(report.problems), [{ seq: 4, through: events, kind: "edited" }]);
});

test("verified with the wrong master key, the one problem reported is the key", async (t) => {
  const { store, events } = await auditedStore(t);
  const report = await verifyAuditLog(withAuditKey(store, Buffer.alloc(32, 0x11)).db);
  assert.equal(report.ok, false);
  assert.equal(report.checked, events);
  assert.deepEqual(runs(report.problems), [{ seq: 1, through: undefined, kind: "wrong-key" }]);
  assert.match(report.problems[0]?.message ?? "", /the key is probably wrong/);
});

test("neither recording nor verifying works on a store opened without the audit key", async (t) => {
  const { store } = await auditedStore(t);
  const unkeyed = store.db.withoutPlugins();
  await assert.rejects(verifyAuditLog(unkeyed), /the audit log is keyed: open the store with withAuditKey/);
  await assert.rejects(
    createPerson(unkeyed, actor, { givenName: "Sam", familyName: "Five" }),
    /the audit log is keyed/,
  );
  assert.deepEqual(await verifyAuditLog(store.db), {
    ok: true,
    checked: await lastSeq(store.db),
    problems: [],
  });
});
