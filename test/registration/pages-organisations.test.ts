import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

test("CIM's workgroup pages: an RA manager creates and changes workgroups, with error summaries; others may only look", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const cim = (path: string) => `${server.origin}/cim${path}`;
  const manager = await signInToCim(server, "margaret.oconnell@nhs.net");
  assert.match(manager.home, /href="\/cim\/workgroups"/, "the RA manager's navigation offers Workgroups");
  assert.doesNotMatch(manager.home, /href="\/cim\/organisations"/, "but not Organisations");
  const { browser } = manager;

  const list = await pageText(await browser.get(cim("/workgroups")));
  assert.match(
    list,
    /<h1 class="nhsuk-heading-xl">Workgroups at Ashcombe and Wexley Hospitals NHS Trust<\/h1>/,
  );
  assert.match(list, /Ward 7 Nursing/);
  assert.match(
    list,
    /<option value="RZZ01"[^>]*>Ashcombe General Hospital \(RZZ01\)<\/option>/,
    "sites below",
  );
  assert.doesNotMatch(list, /A99001/, "nothing outside the manager's trust");

  // A position to confine the workgroup to, defined on the positions page.
  const positions = cim("/positions?ods=RZZ");
  const defined = await browser.post(positions, {
    _form: formToken(await (await browser.get(positions)).text()),
    name: "Ward 8 nurse",
    jobRole: "R8001",
  });
  assert.equal(defined.status, 303);
  const ward8 = await db
    .selectFrom("position_definitions")
    .select("id")
    .where("name", "=", "Ward 8 nurse")
    .executeTakeFirstOrThrow();

  const newForm = cim("/workgroups/new?ods=RZZ");
  const blank = await browser.get(newForm);
  const blankHtml = await pageText(blank);
  assert.match(blankHtml, new RegExp(`Ward 8 nurse \\(${ward8.id}\\)`), "positions by name, ids beside");
  const empty = await browser.post(newForm, { _form: formToken(blankHtml), name: " " });
  assert.equal(empty.status, 400);
  const emptyHtml = await pageText(empty);
  assert.match(emptyHtml, /<title>Error: Create a workgroup/);
  assert.match(emptyHtml, /<a href="#name">Name is required \(up to 100 characters\)<\/a>/);
  const clash = await browser.post(newForm, {
    _form: formToken(emptyHtml),
    name: "Ward 7 Nursing",
  });
  assert.equal(clash.status, 409);
  assert.match(await pageText(clash), /RZZ already has a workgroup called Ward 7 Nursing/);
  const elsewhere = await browser.post(newForm, {
    _form: formToken(await (await browser.get(newForm)).text()),
    name: "Ward 8",
    positionDefinitionIds: "999999999999",
  });
  assert.equal(elsewhere.status, 400);
  assert.match(
    await pageText(elsewhere),
    /<a href="#positionDefinitionIds">999999999999 are not positions at RZZ<\/a>/,
  );

  const created = await browser.post(newForm, {
    _form: formToken(await (await browser.get(newForm)).text()),
    name: "Ward 8",
    description: "Ward 8 nursing team",
    positionDefinitionIds: ward8.id,
  });
  assert.equal(created.status, 303);
  assert.equal(created.headers.get("location"), "/cim/workgroups?ods=RZZ&done=workgroup-created");
  const ward8Group = await db
    .selectFrom("workgroups")
    .selectAll()
    .where("name", "=", "Ward 8")
    .executeTakeFirstOrThrow();
  assert.deepEqual(
    [ward8Group.description, ward8Group.position_definition_ids],
    ["Ward 8 nursing team", [ward8.id]],
  );
  const shown = await pageText(await browser.get(cim("/workgroups?ods=RZZ&done=workgroup-created")));
  assert.match(shown, /The workgroup was created\./);
  assert.match(shown, new RegExp(`<li>Ward 8 nurse \\(${ward8.id}\\)</li>`));

  const change = cim(`/workgroups/${ward8Group.id}`);
  const changeHtml = await pageText(await browser.get(change));
  assert.match(changeHtml, new RegExp(`value="${ward8.id}" checked`), "the chosen position is ticked");
  const changed = await browser.post(change, {
    _form: formToken(changeHtml),
    name: "Ward 8 (Oak)",
    description: "Ward 8 nursing team",
    reason: "Ward renamed",
  });
  assert.equal(changed.status, 303);
  const after = await db
    .selectFrom("workgroups")
    .selectAll()
    .where("id", "=", ward8Group.id)
    .executeTakeFirstOrThrow();
  assert.deepEqual(
    [after.name, after.position_definition_ids],
    ["Ward 8 (Oak)", []],
    "no box ticked: any position",
  );
  const audited = await db
    .selectFrom("audit_events")
    .select(["action", "actor_id", "reason"])
    .where("subject_id", "=", ward8Group.id)
    .orderBy("seq")
    .execute();
  const margaret = await uuidOf(db, "O'Connell");
  assert.deepEqual(audited, [
    { action: "workgroup.created", actor_id: margaret, reason: null },
    { action: "workgroup.changed", actor_id: margaret, reason: "Ward renamed" },
  ]);

  const outside = await browser.get(cim("/workgroups/new?ods=A99001"));
  assert.equal(outside.status, 403);
  assert.match(await pageText(outside), /You cannot do this/);
  const unknown = await browser.get(cim("/workgroups?ods=NOPE9"));
  assert.equal(unknown.status, 400);
  assert.match(await pageText(unknown), /<a href="#ods">No organisation has ODS code NOPE9<\/a>/);

  const agent = await signInToCim(server, "tunde.adebayo@nhs.net");
  assert.doesNotMatch(agent.home, /href="\/cim\/workgroups"/);
  const agentView = await pageText(await agent.browser.get(cim("/workgroups?ods=RZZ")));
  assert.match(agentView, /Ward 8 \(Oak\)/, "an RA agent may look");
  assert.doesNotMatch(agentView, /Create a workgroup/);
  const refused = await agent.browser.post(change, {
    _form: formToken(await (await agent.browser.get(change)).text()),
    name: "Taken over",
  });
  assert.equal(refused.status, 403);
  assert.equal(
    (
      await db
        .selectFrom("workgroups")
        .select("name")
        .where("id", "=", ward8Group.id)
        .executeTakeFirstOrThrow()
    ).name,
    "Ward 8 (Oak)",
  );
});

test("CIM's organisation pages: a national RA manager adds a local organisation and corrects a name with a reason; others are refused", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const cim = (path: string) => `${server.origin}/cim${path}`;
  const national = await signInToCim(server, "elizabeth.harrington@nhs.net");
  assert.match(national.home, /href="\/cim\/organisations"/);
  const { browser } = national;

  const found = await pageText(await browser.get(cim("/organisations?q=ashcombe")));
  assert.match(
    found,
    /<a href="\/cim\/organisations\/RZZ">Ashcombe and Wexley Hospitals NHS Trust<\/a> ?\(RZZ\)/,
  );
  assert.match(found, /NHS TRUST \(RO197\)/);
  assert.match(
    await pageText(await browser.get(cim("/organisations?q=zz9"))),
    /No organisation matches "zz9"/,
  );

  const newForm = cim("/organisations/new");
  const bad = await browser.post(newForm, {
    _form: formToken(await (await browser.get(newForm)).text()),
    odsCode: "x",
    name: "",
    type: "",
  });
  assert.equal(bad.status, 400);
  const badHtml = await pageText(bad);
  for (const [field, text] of [
    ["odsCode", "Organisation code must be 3 to 10 letters and digits"],
    ["name", "Name is required"],
    ["type", "Type must be an ODS role code"],
  ])
    assert.match(badHtml, new RegExp(`<a href="#${field}">${text}`));
  const orphan = await browser.post(newForm, {
    _form: formToken(badHtml),
    odsCode: "RZZ03",
    name: "Ashcombe Urgent Treatment Centre",
    type: "RO198",
    parentOdsCode: "NOPE1",
  });
  assert.equal(orphan.status, 400);
  assert.match(await pageText(orphan), /<a href="#parentOdsCode">No organisation has ODS code NOPE1<\/a>/);
  const added = await browser.post(newForm, {
    _form: formToken(await (await browser.get(newForm)).text()),
    odsCode: "rzz03",
    name: "Ashcombe Urgent Treatment Centre",
    type: "RO198",
    parentOdsCode: "RZZ",
    addressLine1: "Fenwick Road",
    city: "Ashcombe",
    postcode: "ac1 4nh",
  });
  assert.equal(added.status, 303);
  assert.equal(added.headers.get("location"), "/cim/organisations/RZZ03?done=organisation-added");
  const row = await db
    .selectFrom("organisations")
    .select(["name", "type_name", "parent_ods_code", "source", "postcode"])
    .where("ods_code", "=", "RZZ03")
    .executeTakeFirstOrThrow();
  assert.deepEqual(row, {
    name: "Ashcombe Urgent Treatment Centre",
    type_name: "NHS TRUST SITE",
    parent_ods_code: "RZZ",
    source: "local",
    postcode: "AC1 4NH",
  });
  const page = await pageText(await browser.get(cim("/organisations/RZZ03?done=organisation-added")));
  assert.match(page, /The organisation was added\./);
  assert.match(page, /Ashcombe and Wexley Hospitals NHS Trust \(RZZ\)/, "its parent by name, code beside");
  const today = new Intl.DateTimeFormat("en-GB", {
    day: "numeric",
    month: "long",
    year: "numeric",
    timeZone: "Europe/London",
  }).format(new Date());
  assert.ok(page.includes(today), `last changed in the NHS style (${today})`);

  const rename = cim("/organisations/RZZ/name");
  const noReason = await browser.post(rename, {
    _form: formToken(await (await browser.get(cim("/organisations/RZZ"))).text()),
    name: "Ashcombe and Wexley Hospitals NHS Foundation Trust",
  });
  assert.equal(noReason.status, 400);
  const noReasonHtml = await pageText(noReason);
  assert.match(noReasonHtml, /<a href="#reason">Reason is required to correct a name<\/a>/);
  assert.match(
    noReasonHtml,
    /value="Ashcombe and Wexley Hospitals NHS Foundation Trust"/,
    "what was typed is kept",
  );
  const renamed = await browser.post(rename, {
    _form: formToken(noReasonHtml),
    name: "Ashcombe and Wexley Hospitals NHS Foundation Trust",
    reason: "Foundation trust status from 1 April; ODS not yet updated",
  });
  assert.equal(renamed.status, 303);
  const event = await db
    .selectFrom("audit_events")
    .select(["actor_id", "reason", "before", "after"])
    .where("action", "=", "organisation.renamed")
    .executeTakeFirstOrThrow();
  assert.deepEqual(event, {
    actor_id: await uuidOf(db, "Harrington"),
    reason: "Foundation trust status from 1 April; ODS not yet updated",
    before: { name: "Ashcombe and Wexley Hospitals NHS Trust" },
    after: { name: "Ashcombe and Wexley Hospitals NHS Foundation Trust" },
  });

  // The trust's RA manager looks after the new site, but may not add or rename organisations.
  const manager = await signInToCim(server, "margaret.oconnell@nhs.net");
  const site = await manager.browser.get(cim("/workgroups?ods=RZZ03"));
  assert.equal(site.status, 200);
  assert.match(await pageText(site), /Create a workgroup/);
  for (const path of ["/organisations", "/organisations/new", "/organisations/RZZ"]) {
    const refused = await manager.browser.get(cim(path));
    assert.equal(refused.status, 403, path);
    assert.match(await pageText(refused), /Only a national RA manager \(R5072\) may change organisations/);
  }
  const forbidden = await manager.browser.post(cim("/organisations/new"), {
    _form: formToken(await (await manager.browser.get(cim("/sign-out"))).text()),
    odsCode: "RZZ04",
    name: "Not allowed",
    type: "RO198",
  });
  assert.equal(forbidden.status, 403);
  assert.equal(
    await db
      .selectFrom("organisations")
      .select("ods_code")
      .where("ods_code", "=", "RZZ04")
      .executeTakeFirst(),
    undefined,
  );
});
