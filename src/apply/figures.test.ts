import assert from "node:assert/strict";
import { test } from "node:test";
import { testMasterKey, testStore } from "../../test/support/test-store.ts";
import { operatorActor } from "../audit/actor.ts";
import { ForbiddenError } from "../errors.ts";
import { runReport } from "../registration/reports.ts";
import { sealerFor } from "../secrets/sealed.ts";
import { seedDemo } from "../seed/demo.ts";
import { applicationFigures } from "./figures.ts";
import { inviteApplicant, withdrawInvitation } from "./invitations.ts";

/** What server.ts gives CIM's reports: this folder's figures. */
const otherReports = { applications: applicationFigures };

const sealer = sealerFor(testMasterKey);
const settings = { linkDays: 14, photoDays: 30, applyUrl: "http://careid.test/apply" };

test("the applications report: Apply for Care ID in figures per organisation, for sponsors and RA staff in scope", async (t) => {
  const store = await testStore(t);
  await seedDemo(store.db, operatorActor());
  const as = async (email: string) => ({
    kind: "person" as const,
    source: "CIM",
    id: (
      await store.db.selectFrom("people").select("uuid").where("email", "=", email).executeTakeFirstOrThrow()
    ).uuid,
  });
  const tunde = await as("tunde.adebayo@nhs.net");
  const invite = (email: string) =>
    inviteApplicant(store.db, tunde, sealer, settings, {
      odsCode: "RZZ",
      givenName: "A",
      familyName: "B",
      email,
    });
  await invite("one@example.org");
  const expired = await invite("two@example.org");
  const withdrawn = await invite("three@example.org");
  const decided = await invite("four@example.org");
  await withdrawInvitation(store.db, tunde, withdrawn.id);
  await store.db
    .updateTable("apply_invitations")
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where("id", "=", expired.id)
    .execute();
  // As a review leaves it (the review itself is tested in apply.test.ts): decided 6 hours after submission.
  const submittedAt = new Date(Date.now() - 10 * 3_600_000);
  await store.db
    .updateTable("apply_invitations")
    .set({
      status: "rejected",
      submitted_at: submittedAt,
      decided_at: new Date(submittedAt.getTime() + 6 * 3_600_000),
    })
    .where("id", "=", decided.id)
    .execute();

  const report = await runReport(
    store.db,
    await as("grace.mensah@nhs.net"),
    { kind: "applications", odsCode: "rzz" },
    otherReports,
  );
  assert.match(report.filename, /^applications-RZZ-\d{4}-\d{2}-\d{2}\.csv$/);
  const [header, ...rows] = report.csv.trimEnd().split("\r\n");
  assert.equal(
    header,
    "odsCode,invited,awaitingApplicant,linkExpired,referred,awaitingReview,approved,rejected,withdrawn,photosDeleted,averageHoursToDecision",
  );
  assert.deepEqual(rows, ["RZZ,4,1,1,0,0,0,1,1,0,6"]);
  assert.ok(!report.csv.includes("example.org"), "figures only: no applicant's details");

  await assert.rejects(
    runReport(
      store.db,
      await as("karen.whitmore@nhs.net"),
      { kind: "applications", odsCode: "RZZ" },
      otherReports,
    ),
    ForbiddenError,
    "outside their organisations",
  );
  await assert.rejects(
    runReport(
      store.db,
      await as("oliver.bennett@nhs.net"),
      { kind: "applications", odsCode: "RZZ" },
      otherReports,
    ),
    ForbiddenError,
    "no RA role",
  );
  const empty = await runReport(store.db, tunde, { kind: "applications", odsCode: "RZZ01" }, otherReports);
  assert.equal(empty.rows, 0, "organisations below with no invitations have no row");
});
