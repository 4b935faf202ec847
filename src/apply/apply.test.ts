import assert from "node:assert/strict";
import { test } from "node:test";
import { testMasterKey, testStore } from "../../test/support/test-store.ts";
import { operatorActor, systemActor } from "../audit/actor.ts";
import { ConflictError, ForbiddenError, InvalidInputError } from "../errors.ts";
import { sealerFor } from "../secrets/sealed.ts";
import { seedDemo } from "../seed/demo.ts";
import { confirmMobile, saveDetails } from "./application.ts";
import { saveDocument, submitApplication } from "./documents.ts";
import { drivingLicenceProblems } from "./driving-licence.ts";
import { checkImage, samplePhoto } from "./image-checks.ts";
import { ApplyLinkRefusedError, openInvitationLink } from "./invitation-link.ts";
import { digestOfToken, inviteApplicant, resendInvitation, withdrawInvitation } from "./invitations.ts";
import { inviteFromFile, readInviteeFile } from "./invitee-file.ts";
import { parseMachineReadableZone, passportZone } from "./machine-readable-zone.ts";
import { openPhoto } from "./photo-sealing.ts";
import { approveApplication, claimApplication, deleteDuePhotos } from "./review.ts";

const sealer = sealerFor(testMasterKey);
const settings = { linkDays: 14, photoDays: 30, applyUrl: "http://careid.test/apply" };
const zone = (expiresOn: string, dateOfBirth = "1995-03-15") =>
  passportZone({
    issuingState: "GBR",
    familyName: "Okoye",
    givenNames: "Amara",
    documentNumber: "925076473",
    nationality: "GBR",
    dateOfBirth,
    sex: "F",
    expiresOn,
  });

async function demo(t: Parameters<typeof testStore>[0]) {
  const store = await testStore(t);
  await seedDemo(store.db, operatorActor());
  const uuid = async (email: string) =>
    (await store.db.selectFrom("people").select("uuid").where("email", "=", email).executeTakeFirstOrThrow())
      .uuid;
  const as = async (email: string) => ({ kind: "person" as const, id: await uuid(email), source: "APPLY" });
  return { store, as };
}

/** The token is only in the queued email: read it back as the applicant's inbox would. */
async function tokenOf(db: Awaited<ReturnType<typeof testStore>>["db"], email: string): Promise<string> {
  const rows = await db
    .selectFrom("message_outbox")
    .select("sealed_content")
    .where("template", "=", "apply-invitation")
    .execute();
  const mail = rows
    .map((row) => JSON.parse(sealer.open(row.sealed_content)))
    .filter((content) => content.to === email)
    .at(-1);
  return String(mail.personalisation.link).split("/").at(-1) as string;
}

async function lastCode(db: Awaited<ReturnType<typeof testStore>>["db"]): Promise<string> {
  const rows = await db
    .selectFrom("message_outbox")
    .select(["sealed_content", "created_at"])
    .where("template", "=", "apply-mobile-code")
    .orderBy("created_at", "desc")
    .execute();
  return JSON.parse(sealer.open(rows[0]?.sealed_content as string)).personalisation.code;
}

test("MRZ check digits, passport expiry, licence structure and image checks", () => {
  const good = zone("2030-04-30");
  assert.equal(parseMachineReadableZone(good).documentNumber, "925076473");
  const broken = good.replace(
    /\n(\d{9})(\d)/,
    (_, number, digit) => `\n${number}${(Number(digit) + 1) % 10}`,
  );
  assert.throws(() => parseMachineReadableZone(broken), /check digit of the passport number/);
  assert.throws(() => parseMachineReadableZone("P<GBR"), /two lines of 44/);
  assert.deepEqual(
    drivingLicenceProblems("OKOYE903155A99AB", {
      familyName: "Okoye",
      givenName: "Amara",
      middleNames: null,
      dateOfBirth: "1995-03-15",
    }),
    [],
  );
  assert.match(
    drivingLicenceProblems("OKOYE903165A99AB", {
      familyName: "Okoye",
      givenName: "Amara",
      middleNames: null,
      dateOfBirth: "1995-03-15",
    }).join(),
    /day of birth/,
  );
  assert.throws(() => checkImage(Buffer.from("%PDF-1.7 not a photo")), /must be a photo/);
  assert.throws(() => checkImage(samplePhoto({ width: 120, height: 90 })), /too small/);
  assert.throws(() => checkImage(Buffer.alloc(11 * 1024 * 1024, 0xff)), /too big/);
  assert.throws(() => checkImage(samplePhoto({ brightness: 8 })), /too dark/);
  assert.equal(checkImage(samplePhoto()).checks.find((check) => check.name === "sharpness")?.outcome, "pass");
});

test("links: withdrawn, re-sent (old link dead), unknown; codes: wrong, too many; a duplicate NI number is referred", async (t) => {
  const { store, as } = await demo(t);
  const tunde = await as("tunde.adebayo@nhs.net");
  const invitation = await inviteApplicant(store.db, tunde, sealer, settings, {
    odsCode: "RZZ",
    givenName: "Amara",
    familyName: "Okoye",
    email: "amara@example.org",
  });
  await assert.rejects(
    inviteApplicant(store.db, tunde, sealer, settings, {
      odsCode: "RZZ",
      givenName: "A",
      familyName: "O",
      email: "amara@example.org",
    }),
    ConflictError,
  );
  const first = await tokenOf(store.db, "amara@example.org");
  await resendInvitation(store.db, tunde, sealer, settings, invitation.id);
  await assert.rejects(
    openInvitationLink(store.db, first),
    (error) => error instanceof ApplyLinkRefusedError && error.reason === "unknown",
  );
  const token = await tokenOf(store.db, "amara@example.org");
  const { id } = await openInvitationLink(store.db, token);
  await assert.rejects(openInvitationLink(store.db, "guessed"), ApplyLinkRefusedError);

  const details = {
    givenName: "Amara",
    familyName: "Okoye",
    dateOfBirth: "1995-03-15",
    niNumber: "JC123456C",
    mobile: "07700900123",
  };
  await saveDetails(store.db, sealer, id, details);
  for (let attempt = 1; attempt <= 4; attempt++)
    await assert.rejects(confirmMobile(store.db, id, "000000"), /not right/);
  await assert.rejects(confirmMobile(store.db, id, "000000"), /too many times/);
  await assert.rejects(confirmMobile(store.db, id, await lastCode(store.db)), /No code is waiting/);
  await assert.rejects(confirmMobile(store.db, id, "12ab"), InvalidInputError);

  // Someone else's NI number: an existing profile holds it.
  await store.db
    .updateTable("people")
    .set({ ni_number: "JC123456C" })
    .where("email", "=", "oliver.bennett@nhs.net")
    .execute();
  await saveDetails(store.db, sealer, id, { ...details, mobile: "07700900124" });
  const { application } = await confirmMobile(store.db, id, await lastCode(store.db));
  assert.equal(application.status, "referred");
  assert.equal(application.referral, "duplicate");

  await withdrawInvitation(store.db, tunde, id);
  await assert.rejects(
    openInvitationLink(store.db, token),
    (error) => error instanceof ApplyLinkRefusedError && error.reason === "withdrawn",
  );
  const expired = await inviteApplicant(store.db, tunde, sealer, settings, {
    odsCode: "RZZ",
    givenName: "Ben",
    familyName: "Carter",
    email: "ben@example.org",
  });
  await store.db
    .updateTable("apply_invitations")
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where("id", "=", expired.id)
    .execute();
  await assert.rejects(
    openInvitationLink(store.db, await tokenOf(store.db, "ben@example.org")),
    (error) => error instanceof ApplyLinkRefusedError && error.reason === "expired",
  );
  const refusals = await store.db
    .selectFrom("audit_events")
    .select("source")
    .where("action", "=", "apply.link-refused")
    .execute();
  assert.ok(refusals.length >= 3 && refusals.every((event) => event.source === "APPLY"));
});

test("a CSV with a bad row sends nothing until the good rows are confirmed", async (t) => {
  const { store, as } = await demo(t);
  const grace = await as("grace.mensah@nhs.net");
  const file =
    "given_name,family_name,email\nAmara,Okoye,amara@example.org\nBen,,not-an-email\nCara,Dunn,cara@example.org\n";
  assert.deepEqual(
    readInviteeFile(file).map((row) => row.problems.length > 0),
    [false, true, false],
  );
  await assert.rejects(
    inviteFromFile(store.db, grace, sealer, settings, { odsCode: "RZZ", file }),
    (error) => {
      assert.ok(error instanceof InvalidInputError);
      assert.match(error.problems[0]?.message ?? "", /^Row 3: Family name is required; Email must be/);
      return true;
    },
  );
  assert.equal(
    (await store.db.selectFrom("apply_invitations").select("id").execute()).length,
    0,
    "nothing sent",
  );
  const { invited } = await inviteFromFile(store.db, grace, sealer, settings, {
    odsCode: "RZZ",
    file,
    confirmGoodRows: true,
  });
  assert.equal(invited.length, 2);
  assert.equal((await store.db.selectFrom("message_outbox").select("id").execute()).length, 2);
  const outsider = await as("karen.whitmore@nhs.net");
  await assert.rejects(
    inviteApplicant(store.db, outsider, sealer, settings, {
      odsCode: "RZZ",
      givenName: "D",
      familyName: "E",
      email: "d@example.org",
    }),
    ForbiddenError,
  );
});

test("documents, double submit, review scope, four-eyes, approval and photo deletion", async (t) => {
  const { store, as } = await demo(t);
  const hannah = await as("hannah.kowalski@nhs.net");
  const invitation = await inviteApplicant(store.db, hannah, sealer, settings, {
    odsCode: "RZZ",
    givenName: "Amara",
    familyName: "Okoye",
    email: "amara@example.org",
  });
  const id = invitation.id;
  await saveDetails(store.db, sealer, id, {
    givenName: "Amara",
    familyName: "Okoye",
    dateOfBirth: "1995-03-15",
    niNumber: "JC123456C",
    mobile: "07700900123",
  });
  await confirmMobile(store.db, id, await lastCode(store.db));
  const photo = samplePhoto();
  await assert.rejects(
    saveDocument(store.db, sealer, id, "photo-id", {
      kind: "passport",
      machineReadableZone: zone("2030-04-30").replace("<<AMARA", "<<AMARB").replace(/.$/, "0"),
      photo,
    }),
    InvalidInputError,
  );
  await assert.rejects(
    saveDocument(store.db, sealer, id, "photo-id", {
      kind: "passport",
      machineReadableZone: zone("2030-04-30"),
      photo: Buffer.from("GIF89a"),
    }),
    /must be a photo/,
  );
  await assert.rejects(submitApplication(store.db, id), /add the rest of your photos/);
  await saveDocument(store.db, sealer, id, "photo-id", {
    kind: "passport",
    machineReadableZone: zone("2030-04-30"),
    photo,
  });
  await saveDocument(store.db, sealer, id, "second-document", { kind: "utility-bill", photo });
  await saveDocument(store.db, sealer, id, "face", { photo });
  const stored = await store.db
    .selectFrom("apply_documents")
    .selectAll()
    .where("invitation_id", "=", id)
    .where("slot", "=", "face")
    .executeTakeFirstOrThrow();
  assert.ok(!stored.ciphertext?.includes(photo.subarray(0, 64).toString("base64url")), "sealed at rest");
  assert.deepEqual(
    openPhoto(sealer, { sealedKey: stored.sealed_key as string, ciphertext: stored.ciphertext as string }),
    photo,
  );
  await submitApplication(store.db, id);
  await assert.rejects(submitApplication(store.db, id), ConflictError, "a double submit changes nothing");
  await assert.rejects(saveDocument(store.db, sealer, id, "face", { photo }), ConflictError);

  await assert.rejects(claimApplication(store.db, hannah, id), /Nobody reviews an application they invited/);
  await assert.rejects(
    claimApplication(store.db, await as("karen.whitmore@nhs.net"), id),
    ForbiddenError,
    "outside scope",
  );
  await assert.rejects(
    claimApplication(store.db, await as("grace.mensah@nhs.net"), id),
    ForbiddenError,
    "a sponsor invites but does not review",
  );
  const margaret = await as("margaret.oconnell@nhs.net");
  await assert.rejects(approveApplication(store.db, margaret, sealer, settings, id), /open the application/);
  await claimApplication(store.db, margaret, id);
  const person = await approveApplication(store.db, margaret, sealer, settings, id);
  assert.equal(person.identityAssuranceLevel, 2, "photo ID with proof of address");
  await assert.rejects(approveApplication(store.db, margaret, sealer, settings, id), ConflictError);

  assert.equal(await deleteDuePhotos(store.db, systemActor("apply"), new Date()), 0, "not yet due");
  assert.equal(
    await deleteDuePhotos(store.db, systemActor("apply"), new Date(Date.now() + 31 * 86_400_000)),
    1,
  );
  const left = await store.db
    .selectFrom("apply_documents")
    .select(["ciphertext", "sealed_key", "checks"])
    .where("invitation_id", "=", id)
    .execute();
  assert.ok(left.every((row) => row.ciphertext === null && row.sealed_key === null && row.checks.length > 0));
  const audit = await store.db
    .selectFrom("audit_events")
    .select("action")
    .where("subject_id", "=", id)
    .execute();
  for (const action of [
    "apply.invited",
    "apply.mobile-confirmed",
    "apply.submitted",
    "apply.approved",
    "apply.photos-deleted",
  ])
    assert.ok(
      audit.some((event) => event.action === action),
      action,
    );
  assert.equal(digestOfToken("x").length, 43);
});
