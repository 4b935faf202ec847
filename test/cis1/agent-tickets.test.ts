import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { Cis1Failure, getTicket, roleAssertion } from "../../examples/cis1-legacy/roles.ts";
import { operatorActor } from "../../src/audit/actor.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { positionsOfPerson } from "../../src/rbac/positions.ts";
import { peopleWithPositions } from "../authenticators/enrolment.ts";
import { postAgentForm } from "../support/agent.ts";
import { Browser, interactionAddress } from "../support/browser.ts";
import { leftOut } from "../support/prerequisites.ts";
import { startSmartcardWorld } from "../support/smartcard-service.ts";
import { softHsmCard } from "../support/tokens.ts";
import { assertSchemaValid, auditEventAppears, verifySignature } from "./checks.ts";

const passcode = "4321";
const anyLocalOrigin = "http://127.0.0.1:";

/**
 * CIS1 end to end through real parts: `careid agent` as a process on a SoftHSM2 token (deleting
 * the token is pulling the card), the service signing its assertions, and the example legacy
 * application asking the agent for a ticket and the service for the roles. The holder has several
 * positions and chooses one on the agent's page while the application's getTicket waits.
 */
test("the example application gets a ticket through the agent and a signed, schema-valid role assertion; pulling the card ends it and the CIS2 session", async (t) => {
  if (leftOut(t, "smartcard")) return;
  const card = softHsmCard();
  t.after(() => card.remove());
  const world = await startSmartcardWorld(t, card, { CAREID_CIS1_SIGN_ASSERTIONS: "true" });
  const { server, agent } = world;
  const db = server.store.db;
  const [holder] = (await peopleWithPositions(db, 1, 2, 5)) as [string];
  const positions = await positionsOfPerson(db, await readCodeLists(db), holder);

  const order = await createCardOrder(db, operatorActor(), { kind: "issue", holder });
  const issued = await (
    await postAgentForm(agent.url, "/issue", { orderCode: order.code, passcode, confirmation: passcode })
  ).text();
  assert.match(issued, new RegExp(`This smartcard is issued to ${holder}`));

  // No session yet: getTicketNoAuth says so, and getTicket waits for the holder.
  await assert.rejects(getTicket(agent.url, "getTicketNoAuth"), /There is no smartcard session/);
  const since = agent.events.length;
  const ticketPromise = getTicket(agent.url, "getTicket", 60);
  await agent.waitFor("ticket-sign-in-waiting", since);
  assert.match(
    await (await postAgentForm(agent.url, "/passcode", { passcode })).text(),
    /Your smartcard is ready/,
  );
  await agent.waitFor("ticket-session-started", since);
  const page = await (await fetch(`${agent.url}/`)).text();
  const offered = [...page.matchAll(/name="role" id="role-\d+" value="(\d{12})"/g)].map((match) => match[1]);
  assert.deepEqual(
    offered.toSorted(),
    positions.map((position) => position.roleProfileId).toSorted(),
    "the agent's page offers each of the holder's positions",
  );
  const chosen = offered[1] as string;
  const selected = await (await postAgentForm(agent.url, "/select-role", { role: chosen })).text();
  assert.match(selected, /You are working as/);
  const ticket = await ticketPromise;
  assert.match(ticket, /^AQIC5wM2LY4Sfc[A-Za-z0-9_-]{43}\*$/);
  assert.equal(
    await getTicket(agent.url, "getTicketNoAuth"),
    ticket,
    "the same session for the next application",
  );
  assert.equal(await getTicket(agent.url, "getTicket"), ticket, "getTicket reuses a live session");
  assert.doesNotMatch(agent.output(), new RegExp(`${passcode}|${ticket.replace(/[*]/g, "\\*")}`));

  // The example application's view of the assertion, read with xmldom and xpath.
  const { user, xml } = await roleAssertion(server.origin, ticket);
  assert.equal(user.uid, holder);
  assert.equal(user.nameIdentifier, `uid=${holder},ou=People,o=nhs`);
  assert.equal(user.selectedRole, chosen);
  assert.equal(user.mode, "0");
  assert.deepEqual(
    user.positions.map((position) => [position.roleProfileId, position.odsCode, position.jobRoleCode]),
    positions.map((position) => [position.roleProfileId, position.odsCode, position.jobRole.code]),
  );
  for (const [index, position] of positions.entries())
    assert.deepEqual(
      user.positions[index]?.activityCodes,
      position.activities.map((activity) => activity.code),
    );
  const notOnOrAfter = Date.parse(user.validUntil);
  assert.ok(Math.abs(notOnOrAfter - Date.now() - 180_000) < 30_000, "valid about three minutes ahead");

  // Independent tools: the OASIS schemas (xmllint) and the signature against our root (xmlsec1).
  await assertSchemaValid(t, xml);
  const root = await (await fetch(`${server.origin}/pki/root.crt`)).arrayBuffer();
  const verified = await verifySignature(t, xml, new Uint8Array(root));
  assert.equal(verified.status, 0, verified.output);
  assert.match(verified.output, /OK/);
  const tampered = xml.replace(
    `<saml:AttributeValue>${chosen}</saml:AttributeValue>`,
    "<saml:AttributeValue>000000000000</saml:AttributeValue>",
  );
  assert.notEqual(tampered, xml);
  assert.notEqual(
    (await verifySignature(t, tampered, new Uint8Array(root))).status,
    0,
    "an edited assertion fails",
  );

  const validity = await fetch(
    `${server.origin}/amserver/identity/isTokenValid?tokenid=${encodeURIComponent(ticket)}`,
  );
  assert.equal(await validity.text(), "boolean=true");
  const fromAgent = await fetch(`${agent.url}/ticket/isTokenValid`, { method: "POST" });
  assert.equal(await fromAgent.text(), "boolean=true");

  // A CIS2 session with the same card, through the agent, as the sign-in page does.
  await signInToPointOfCare(world);

  // The card is pulled: the agent reports it, the token ends, and so does the CIS2 session.
  const removedSince = agent.events.length;
  card.remove();
  await agent.waitFor("card-removed", removedSince);
  assert.ok(await auditEventAppears(db, "cis1.sessions-destroyed", holder), "the token was destroyed");
  await assert.rejects(roleAssertion(server.origin, ticket), (error) => {
    assert.ok(error instanceof Cis1Failure);
    assert.match(error.message, /not known/);
    return true;
  });
  const after = await fetch(
    `${server.origin}/amserver/identity/isTokenValid?tokenid=${encodeURIComponent(ticket)}`,
  );
  assert.equal(await after.text(), "boolean=false");
  await assert.rejects(getTicket(agent.url, "getTicketNoAuth"), /There is no smartcard session/);
  assert.ok(await auditEventAppears(db, "cis2.backchannel-logout.delivered"), "the relying party was told");
  const ended = await db
    .selectFrom("audit_events")
    .select("after")
    .where("action", "=", "cis2.sessions-ended")
    .where("subject_id", "=", holder)
    .executeTakeFirstOrThrow();
  assert.equal((ended.after as { sessions: number }).sessions, 1);
});

test("the Ticket API answers only programs on this computer: web pages' origins and other Host names are refused", async (t) => {
  if (leftOut(t, "smartcard")) return;
  const card = softHsmCard();
  t.after(() => card.remove());
  const world = await startSmartcardWorld(t, card);
  const { agent } = world;
  const since = agent.events.length;
  for (const origin of ["https://evil.example", "null", world.server.origin]) {
    const refused = await fetch(`${agent.url}/ticket/getTicketNoAuth`, {
      method: "POST",
      headers: { origin },
    });
    assert.equal(refused.status, 403, origin);
    assert.equal(refused.headers.get("access-control-allow-origin"), null);
  }
  assert.equal((await agent.waitFor("origin-refused", since)).origin, "https://evil.example");
  assert.equal(await statusWithHost(`${agent.url}/ticket/getTicket`, "evil.example"), 421);
  assert.equal((await fetch(`${agent.url}/ticket/getTicket`)).status, 405, "only POST");
  const badWait = await fetch(`${agent.url}/ticket/getTicket`, {
    method: "POST",
    body: '{"waitSeconds":-1}',
  });
  assert.equal(badWait.status, 400);
  assert.match(((await badWait.json()) as { detail: string }).detail, /waitSeconds/);
  const notJson = await fetch(`${agent.url}/ticket/getTicket`, { method: "POST", body: "token=1" });
  assert.equal(notJson.status, 400);
  // A blank card cannot sign in: a short wait ends in a clear refusal, not a hang.
  const timedOut = await fetch(`${agent.url}/ticket/getTicket`, {
    method: "POST",
    body: '{"waitSeconds":1}',
  });
  assert.equal(timedOut.status, 408);
  assert.match(((await timedOut.json()) as { detail: string }).detail, /enter its passcode/);
  assert.equal((await fetch(`${agent.url}/ticket/nothing`, { method: "POST" })).status, 404);
});

/** The removal test's CIS2 sign-in: the page's challenge signed by the agent; a role chosen if asked. */
async function signInToPointOfCare(world: Awaited<ReturnType<typeof startSmartcardWorld>>) {
  const browser = new Browser();
  const start = `${world.pointOfCare.url}/login`;
  const first = await browser.follow(await browser.get(start), start, anyLocalOrigin);
  const page = `${interactionAddress(await first.response.text(), first.url)}/smartcard`;
  const html = await (await browser.get(page)).text();
  const challenge = /data-smartcard-challenge="([^"]+)"/.exec(html)?.[1];
  const signed = await fetch(`${world.agent.url}/api/sign`, {
    method: "POST",
    headers: { origin: world.server.origin, "content-type": "application/json" },
    body: JSON.stringify({ challenge }),
  });
  assert.equal(signed.status, 200);
  const { certificate, signature } = (await signed.json()) as { certificate: string; signature: string };
  let { url, response } = await browser.follow(
    await browser.post(page, { certificate, signature }),
    page,
    anyLocalOrigin,
  );
  if (response.status === 200) {
    const form = await response.text();
    const action = new URL(/<form[^>]*action="([^"]*\/role)"/.exec(form)?.[1] ?? "", url).href;
    const role = /name="role"[^>]*value="(\d{12})"|value="(\d{12})"[^>]*name="role"/.exec(form);
    ({ url, response } = await browser.follow(
      await browser.post(action, { role: role?.[1] ?? role?.[2] ?? "" }),
      action,
      anyLocalOrigin,
    ));
  }
  assert.equal(url, `${world.pointOfCare.url}/`);
  assert.match(await response.text(), /CIS2_SMARTCARD/);
}

/** fetch may not set Host; a rebinding attacker's browser sends its own name there. */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: "POST", headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}
