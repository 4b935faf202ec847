import assert from "node:assert/strict";
import { test } from "node:test";
import { DOMParser } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { operatorActor } from "../../src/audit/actor.ts";
import { withdrawCard } from "../../src/authenticators/smartcard/cards.ts";
import { tokenDigest } from "../../src/cis1/token.ts";
import { changePersonStatus } from "../../src/people/people.ts";
import { peopleWithPositions, singlePositionPeople } from "../authenticators/enrolment.ts";
import { type Cis2Server, startCis2Server } from "../support/cis2-server.ts";
import { issueSoftCard, type SoftCard, signWith } from "../support/soft-card.ts";
import { assertSchemaValid } from "./checks.ts";

/**
 * The service's CIS1 endpoints refuse every bad token with their own convention (a SAML status
 * at the role assertion, `boolean=false` at isTokenValid, problem+json on the agent's API), and
 * never with a 500. Cards are openssl keys issued through the agent's API (soft-card.ts).
 */
type Started = { token: string; roleRequired: boolean; roles: Array<{ roleProfileId: string }> };

async function startSession(server: Cis2Server, card: SoftCard): Promise<Response> {
  const { challenge } = (await (
    await fetch(`${server.origin}/api/smartcards/challenges`, { method: "POST" })
  ).json()) as { challenge: string };
  return fetch(`${server.origin}/api/cis1/sessions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      cardSerial: card.serial,
      proof: { certificateChain: [card.certificate], challenge, signature: signWith(card, challenge) },
    }),
  });
}

async function assertion(server: Cis2Server, token: string) {
  const response = await fetch(`${server.origin}/saml/RoleAssertion?token=${encodeURIComponent(token)}`);
  const xml = await response.text();
  const document = new DOMParser().parseFromString(xml, "text/xml");
  const select = xpath.useNamespaces({ samlp: "urn:oasis:names:tc:SAML:1.0:protocol" });
  return {
    status: response.status,
    type: response.headers.get("content-type"),
    xml,
    code: String(select("string(//samlp:Status/samlp:StatusCode/@Value)", document)),
    subcode: String(select("string(//samlp:Status/samlp:StatusCode/samlp:StatusCode/@Value)", document)),
    message: String(select("string(//samlp:StatusMessage)", document)),
  };
}

async function isTokenValid(server: Cis2Server, token: string): Promise<string> {
  return (
    await fetch(`${server.origin}/amserver/identity/isTokenValid?tokenid=${encodeURIComponent(token)}`)
  ).text();
}

test("malformed, missing and unknown tokens get a SAML Requester status and boolean=false, never a 500", async (t) => {
  const server = await startCis2Server(t);
  for (const token of ["", "not-a-token", "AQIC5wM2LY4Sfc*", `${"A".repeat(60)}*`, "AQIC5wM2LY4Sfc<x/>"]) {
    const answer = await assertion(server, token);
    assert.equal(answer.status, 400, token);
    assert.match(answer.type ?? "", /^text\/xml/);
    assert.equal(answer.code, "samlp:Requester");
    assert.equal(answer.subcode, "samlp:RequestDenied");
    assert.match(answer.message, /not an SSO token/);
    await assertSchemaValid(t, answer.xml);
    assert.equal(await isTokenValid(server, token), "boolean=false");
  }
  const missing = await fetch(`${server.origin}/saml/RoleAssertion`);
  assert.equal(missing.status, 400);
  const unknown = `AQIC5wM2LY4Sfc${"B".repeat(43)}*`;
  const answer = await assertion(server, unknown);
  assert.equal(answer.status, 403);
  assert.match(answer.message, /not known/);
  assert.equal(await isTokenValid(server, unknown), "boolean=false");
  const posted = await fetch(`${server.origin}/amserver/identity/isTokenValid`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `tokenid=${encodeURIComponent(unknown)}`,
  });
  assert.equal(await posted.text(), "boolean=false");
});

test("the agent's session call refuses a bad body or proof with problem+json", async (t) => {
  const server = await startCis2Server(t);
  const [holder] = (await singlePositionPeople(server.store.db, 1)) as [string];
  const card = await issueSoftCard(t, server, holder);
  const post = (body: string) =>
    fetch(`${server.origin}/api/cis1/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  const notObject = await post("[]");
  assert.equal(notObject.status, 400);
  assert.match(notObject.headers.get("content-type") ?? "", /problem\+json/);
  assert.equal((await post(JSON.stringify({ cardSerial: "bad serial!", proof: {} }))).status, 400);
  assert.equal((await post(JSON.stringify({ cardSerial: card.serial }))).status, 400);
  const forged = await post(
    JSON.stringify({
      cardSerial: card.serial,
      proof: { certificateChain: [card.certificate], challenge: "A".repeat(43), signature: "AAAA" },
    }),
  );
  assert.equal(forged.status, 422);
  assert.match(((await forged.json()) as { type: string }).type, /smartcard-refused/);
  const started = await startSession(server, card);
  assert.equal(started.status, 201);
  const { token, roleRequired } = (await started.json()) as Started;
  assert.equal(roleRequired, false, "one position is selected at once");
  const chooseAgain = await fetch(`${server.origin}/api/cis1/sessions/role`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token, roleProfileId: "000000000000" }),
  });
  assert.equal(chooseAgain.status, 409, "the role is chosen once");
  const unsigned = await assertion(server, token);
  assert.equal(unsigned.status, 200);
  assert.doesNotMatch(unsigned.xml, /Signature/, "unsigned is the legacy default");
  await assertSchemaValid(t, unsigned.xml);
});

test("a session with several positions is not valid until a role is chosen, and only the holder's own role", async (t) => {
  const server = await startCis2Server(t);
  const [holder] = (await peopleWithPositions(server.store.db, 1, 2, 5)) as [string];
  const card = await issueSoftCard(t, server, holder);
  const { token, roleRequired, roles } = (await (await startSession(server, card)).json()) as Started;
  assert.equal(roleRequired, true);
  const pending = await assertion(server, token);
  assert.equal(pending.status, 403);
  assert.match(pending.message, /not yet chosen the role/);
  assert.equal(await isTokenValid(server, token), "boolean=false");
  const choose = (roleProfileId: unknown) =>
    fetch(`${server.origin}/api/cis1/sessions/role`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token, roleProfileId }),
    });
  const foreign = await choose("999999999999");
  assert.equal(foreign.status, 400);
  assert.match(((await foreign.json()) as { detail: string }).detail, /Select one of your current roles/);
  assert.equal((await choose(42)).status, 400);
  const chosen = roles[0]?.roleProfileId as string;
  assert.equal((await choose(chosen)).status, 200);
  const answer = await assertion(server, token);
  assert.equal(answer.status, 200);
  assert.match(
    answer.xml,
    new RegExp(`AttributeName="ssbSessionRoleUid"[^>]*><saml:AttributeValue>${chosen}<`),
  );
});

test("idle and absolute limits, a cancelled card and a suspended profile end the token at once", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const people = await singlePositionPeople(db, 4);
  const sessionFor = async (holder: string) => {
    const card = await issueSoftCard(t, server, holder);
    const { token } = (await (await startSession(server, card)).json()) as Started;
    assert.equal((await assertion(server, token)).status, 200);
    return { card, token };
  };
  const ended = async (token: string, pattern: RegExp) => {
    const answer = await assertion(server, token);
    assert.equal(answer.status, 403);
    assert.match(answer.message, pattern);
    assert.equal(await isTokenValid(server, token), "boolean=false");
    const row = await db
      .selectFrom("cis1_sessions")
      .select("token_digest")
      .where("token_digest", "=", tokenDigest(token))
      .executeTakeFirst();
    assert.equal(row, undefined, "the session is gone");
    assert.match((await assertion(server, token)).message, /not known/);
  };

  const idle = await sessionFor(people[0] as string);
  await db
    .updateTable("cis1_sessions")
    .set({ last_used_at: new Date(Date.now() - 16 * 60_000) })
    .where("token_digest", "=", tokenDigest(idle.token))
    .execute();
  await ended(idle.token, /expired/);

  const old = await sessionFor(people[1] as string);
  await db
    .updateTable("cis1_sessions")
    .set({ expires_at: new Date(Date.now() - 1000) })
    .where("token_digest", "=", tokenDigest(old.token))
    .execute();
  await ended(old.token, /expired/);

  const cancelled = await sessionFor(people[2] as string);
  await withdrawCard(db, operatorActor(), {
    cardSerial: cancelled.card.serial,
    status: "cancelled",
    reason: "test",
  });
  await ended(cancelled.token, /no longer active/);

  const suspended = await sessionFor(people[3] as string);
  await changePersonStatus(db, operatorActor(), people[3] as string, "suspended", "test");
  await ended(suspended.token, /closed or suspended/);

  const events = await db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "cis1.session-ended")
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    events.map((event) => (event.after as { reason: string }).reason),
    ["expired-token", "expired-token", "card-not-active", "holder-not-active"],
  );
});
