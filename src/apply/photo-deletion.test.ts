import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { runProgram } from "../../test/support/pki.ts";
import { databaseForCommands, testMasterKey, testStore } from "../../test/support/test-store.ts";
import { operatorActor } from "../audit/actor.ts";
import { sealerFor } from "../secrets/sealed.ts";
import { seedDemo } from "../seed/demo.ts";
import type { Db } from "../store/database.ts";
import { inviteApplicant } from "./invitations.ts";
import { startPhotoDeletion } from "./photo-deletion.ts";
import { deleteDuePhotos } from "./review.ts";

const sealer = sealerFor(testMasterKey);
const settings = { linkDays: 14, photoDays: 30, applyUrl: "http://careid.test/apply" };
const main = new URL("../main.ts", import.meta.url).pathname;

/**
 * A decided application whose photos fell due `daysAgo` days ago (negative: not yet due). The
 * decision itself is the review's, tested in apply.test.ts; here the row is set as one leaves it.
 */
async function decidedApplication(db: Db, email: string, daysAgo: number): Promise<string> {
  const inviter = await db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", "tunde.adebayo@nhs.net")
    .executeTakeFirstOrThrow();
  const invitation = await inviteApplicant(
    db,
    { kind: "person", id: inviter.uuid, source: "CIM" },
    sealer,
    settings,
    { odsCode: "RZZ", givenName: "Amara", familyName: "Okoye", email },
  );
  const decidedAt = new Date(Date.now() - (settings.photoDays + daysAgo) * 86_400_000);
  await db
    .updateTable("apply_invitations")
    .set({
      status: "rejected",
      decision_reason: "face-mismatch",
      decided_at: decidedAt,
      photos_delete_after: new Date(decidedAt.getTime() + settings.photoDays * 86_400_000),
    })
    .where("id", "=", invitation.id)
    .execute();
  for (const slot of ["photo-id", "face"] as const)
    await db
      .insertInto("apply_documents")
      .values({
        invitation_id: invitation.id,
        slot,
        kind: slot === "face" ? "face" : "passport",
        reference: null,
        machine_readable_zone: null,
        expires_on: null,
        media_type: "image/jpeg",
        byte_size: 5,
        width: 800,
        height: 600,
        sealed_key: sealer.seal("a data key"),
        ciphertext: "c2VhbGVk",
        checks: JSON.stringify([{ name: "format", outcome: "pass" }]),
        deleted_at: null,
      })
      .execute();
  return invitation.id;
}

async function photosLeft(db: Db, id: string): Promise<number> {
  const rows = await db
    .selectFrom("apply_documents")
    .select("slot")
    .where("invitation_id", "=", id)
    .where("ciphertext", "is not", null)
    .execute();
  return rows.length;
}

async function deletionEvents(db: Db, id: string) {
  return db
    .selectFrom("audit_events")
    .select(["actor_kind", "actor_id"])
    .where("subject_id", "=", id)
    .where("action", "=", "apply.photos-deleted")
    .execute();
}

test("serve's timer deletes the photos that fell due, once, audited by the service; those not due stay", async (t) => {
  const store = await testStore(t);
  await seedDemo(store.db, operatorActor());
  const due = await decidedApplication(store.db, "due@example.org", 1);
  const notDue = await decidedApplication(store.db, "later@example.org", -1);
  const errors: Error[] = [];
  const deletion = startPhotoDeletion({
    db: store.db,
    everyMilliseconds: 50,
    log: (error) => errors.push(error),
  });
  t.after(() => deletion.stop());
  const deadline = Date.now() + 10_000;
  while ((await photosLeft(store.db, due)) > 0) {
    assert.ok(Date.now() < deadline, "the timer deleted the due photos");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  // Several more rounds pass: nothing is deleted or audited twice.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await deletion.stop();
  assert.deepEqual(errors, []);
  assert.equal(await photosLeft(store.db, notDue), 2, "photos not yet due stay");
  const events = await deletionEvents(store.db, due);
  assert.equal(events.length, 1);
  assert.equal(events[0]?.actor_kind, "system");
  assert.equal(events[0]?.actor_id, "apply-photo-deletion");
  assert.deepEqual(await deletionEvents(store.db, notDue), []);
  const kept = await store.db
    .selectFrom("apply_invitations")
    .select(["status", "decision_reason"])
    .where("id", "=", due)
    .executeTakeFirstOrThrow();
  assert.deepEqual(kept, { status: "rejected", decision_reason: "face-mismatch" }, "the decision stays");
});

test("nodes deleting at the same moment share the work: each application's photos deleted and audited once", async (t) => {
  const store = await testStore(t);
  await seedDemo(store.db, operatorActor());
  const ids = [];
  for (const n of [1, 2, 3, 4]) ids.push(await decidedApplication(store.db, `applicant${n}@example.org`, n));
  // On PostgreSQL these are separate connections in separate transactions, as on separate nodes.
  const counts = await Promise.all([1, 2, 3].map(() => deleteDuePhotos(store.db, operatorActor())));
  assert.equal(
    counts.reduce((sum, count) => sum + count, 0),
    4,
  );
  for (const id of ids) {
    assert.equal(await photosLeft(store.db, id), 0);
    assert.equal((await deletionEvents(store.db, id)).length, 1);
  }
});

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "careid-photos-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("careid apply delete-photos deletes the due photos at once, audited as the operator", async (t) => {
  const database = await databaseForCommands(t, dataDir(t));
  const store = await database.open();
  await seedDemo(store.db, operatorActor());
  const due = await decidedApplication(store.db, "due@example.org", 1);
  if (!database.shared) await store.close();
  const careid = () =>
    runProgram(process.execPath, [main, "apply", "delete-photos"], {
      LOG_LEVEL: "warn",
      ...database.environment,
    });
  const first = await careid();
  assert.equal(first.status, 0, first.output);
  assert.match(first.output, /Deleted the photos of 1 application\./);
  const again = await careid();
  assert.match(again.output, /Deleted the photos of 0 applications\./);
  const after = database.shared ? store : await database.open();
  if (!database.shared) t.after(() => after.close());
  assert.equal(await photosLeft(after.db, due), 0);
  const events = await deletionEvents(after.db, due);
  assert.equal(events.length, 1);
  assert.equal(events[0]?.actor_kind, "operator");
});
