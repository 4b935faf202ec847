import assert from "node:assert/strict";
import { test } from "node:test";
import { Browser } from "../support/browser.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

test("a CIM form post without this session's form token is refused and changes nothing", async (t) => {
  const server = await startCis2Server(t);
  const sessions = async () =>
    (await server.store.db.selectFrom("first_party_sessions").select("uuid").execute()).length;
  const agent = await signInToCim(server, "tunde.adebayo@nhs.net");
  const manager = await signInToCim(server, "margaret.oconnell@nhs.net");
  assert.equal(await sessions(), 2);
  const signOut = `${server.origin}/cim/sign-out`;
  const othersToken = formToken(await (await manager.browser.get(signOut)).text());

  for (const [why, form] of [
    ["no token", {}],
    ["a made-up token", { _form: "abc.def" }],
    ["another session's token", { _form: othersToken }],
  ] as const) {
    const refused = await agent.browser.post(signOut, form);
    assert.equal(refused.status, 403, `${why} is refused`);
    assert.match(await pageText(refused), /<h1 class="nhsuk-heading-xl">This form could not be sent<\/h1>/);
  }
  assert.equal(await sessions(), 2, "nobody was signed out");

  const stranger = await new Browser().post(signOut, { _form: othersToken });
  assert.equal(stranger.status, 303, "without a session, a post is sent to sign in");
  assert.match(stranger.headers.get("location") ?? "", /^\/cim\/sign-in/);
  assert.equal(await sessions(), 2);
});

test("a CIM form sent twice, even at once, acts once; a forged post to a domain action changes nothing", async (t) => {
  const server = await startCis2Server(t);
  const { browser } = await signInToCim(server, "margaret.oconnell@nhs.net");
  const positions = `${server.origin}/cim/positions?ods=RZZ`;
  const form = {
    _form: formToken(await (await browser.get(positions)).text()),
    name: "Ward 8 nurse",
    jobRole: "R8001",
  };
  const answers = await Promise.all([browser.post(positions, form), browser.post(positions, form)]);
  assert.deepEqual(answers.map((answer) => answer.status).sort(), [303, 409]);
  const again = await browser.post(positions, form);
  assert.equal(again.status, 409);
  assert.match(await pageText(again), /<h1 class="nhsuk-heading-xl">This form was already sent<\/h1>/);
  const defined = await server.store.db
    .selectFrom("position_definitions")
    .select("id")
    .where("name", "=", "Ward 8 nurse")
    .execute();
  assert.equal(defined.length, 1, "defined once");

  const oliver = await uuidOf(server, "oliver.bennett@nhs.net");
  const close = `${server.origin}/cim/profiles/${oliver}/close`;
  for (const forged of [{ reason: "forged" }, { reason: "forged", _form: "x.y" }] as Record<
    string,
    string
  >[]) {
    assert.equal((await browser.post(close, forged)).status, 403);
  }
  const person = await server.store.db
    .selectFrom("people")
    .select("status")
    .where("uuid", "=", oliver)
    .executeTakeFirstOrThrow();
  assert.equal(person.status, "active", "the forged posts closed nothing");
});

test("bad input on CIM forms gets the NHS error summary and changes nothing", async (t) => {
  const server = await startCis2Server(t);
  const { browser } = await signInToCim(server, "margaret.oconnell@nhs.net");
  const events = async () =>
    (await server.store.db.selectFrom("audit_events").select("seq").execute()).length;
  const post = async (path: string, form: Record<string, string>) => {
    const url = `${server.origin}/cim${path}`;
    const page = await (await browser.get(url)).text();
    const response = await browser.post(url, { _form: formToken(page), ...form });
    return { status: response.status, html: await pageText(response) };
  };
  const summary = (html: string) =>
    [
      ...(/nhsuk-error-summary__list">([\s\S]*?)<\/ul>/.exec(html)?.[1] ?? "").matchAll(
        /<a href="([^"]+)">([^<]+)</g,
      ),
    ].map((match) => `${match[1]} ${match[2]}`);
  const before = await events();

  const missing = await post("/profiles/new", { odsCode: "RZZ", givenName: "Ada", familyName: "Lovelace" });
  assert.equal(missing.status, 400);
  const problems = summary(missing.html);
  assert.ok(
    problems.some((problem) => problem.startsWith("#dateOfBirth ")),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((problem) => problem.startsWith("#identityChecks-documents")),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((problem) => problem.startsWith("#identityChecks-confirmed")),
    problems.join("\n"),
  );
  assert.match(missing.html, /value="Lovelace"/, "what was typed is kept");

  const oliver = await uuidOf(server, "oliver.bennett@nhs.net");
  const definition = await post("/positions?ods=RZZ", { name: "Ward 9 nurse", jobRole: "R8001" });
  assert.equal(definition.status, 303);
  const { id } = await server.store.db
    .selectFrom("position_definitions")
    .select("id")
    .where("name", "=", "Ward 9 nurse")
    .executeTakeFirstOrThrow();
  const afterDefining = await events();
  const backwards = await post(`/profiles/${oliver}/assign`, {
    positionDefinitionId: id,
    "startDate-day": "10",
    "startDate-month": "6",
    "startDate-year": "2030",
    "endDate-day": "1",
    "endDate-month": "6",
    "endDate-year": "2030",
  });
  assert.equal(backwards.status, 400);
  assert.deepEqual(summary(backwards.html), [
    "#endDate End date must not be before the start date 2030-06-10",
  ]);

  const noReason = await post(`/profiles/${oliver}/close`, { reason: "" });
  assert.equal(noReason.status, 400);
  assert.deepEqual(summary(noReason.html), ["#reason Reason is required to close a profile"]);

  const batch = await post(`/positions/${id}/batch`, { uuids: `${oliver}, 12345, ${oliver}` });
  assert.equal(batch.status, 400);
  assert.ok(
    summary(batch.html).every((problem) => problem.startsWith("#uuids ")),
    summary(batch.html).join("\n"),
  );
  assert.equal(summary(batch.html).length, 2);

  const badReport = await post("/reports", { kind: "nonsense", odsCode: "RZZ" });
  assert.equal(badReport.status, 400);
  assert.match(summary(badReport.html)[0] ?? "", /^#kind Report must be one of/);

  assert.equal(await events(), afterDefining, "no refused form wrote to the audit log");
  assert.ok(afterDefining > before);
});

async function uuidOf(server: Cis2Server, email: string): Promise<string> {
  const person = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", email)
    .executeTakeFirstOrThrow();
  return person.uuid;
}
