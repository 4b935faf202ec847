import assert from "node:assert/strict";
import { test } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import type { Db } from "../../src/store/database.ts";
import { singlePositionPeople } from "../authenticators/enrolment.ts";
import { postAgentForm } from "../support/agent.ts";
import { Browser, interactionAddress } from "../support/browser.ts";
import { leftOut } from "../support/prerequisites.ts";
import { startSmartcardWorld } from "../support/smartcard-service.ts";
import { softHsmCard } from "../support/tokens.ts";

const passcode = "4321";
const anyLocalOrigin = "http://127.0.0.1:";

/**
 * Taking the card out of the reader ends the holder's smartcard sessions: the agent (a real
 * process on a SoftHSM2 token, which can be deleted as a card is pulled out) reports the removal
 * with the secret it gave when the passcode was entered, and the relying party hears of it by
 * back-channel logout.
 */
test("removing the card ends the CIS2 session and the relying party is told by back-channel logout", async (t) => {
  if (leftOut(t, "smartcard")) return;
  const card = softHsmCard();
  t.after(() => card.remove());
  const world = await startSmartcardWorld(t, card);
  const { server, agent } = world;
  const db = server.store.db;
  const [holder] = (await singlePositionPeople(db, 1)) as [string];

  const order = await createCardOrder(db, operatorActor(), { kind: "issue", holder });
  const issued = await (
    await postAgentForm(agent.url, "/issue", { orderCode: order.code, passcode, confirmation: passcode })
  ).text();
  assert.match(issued, new RegExp(`This smartcard is issued to ${holder}`));
  const ready = await (await postAgentForm(agent.url, "/passcode", { passcode })).text();
  assert.match(ready, /Your smartcard is ready/);
  await agent.waitFor("card-present", 0);

  // The sign-in page's part, done as its module does: the agent signs the page's challenge.
  const browser = new Browser();
  const start = `${world.pointOfCare.url}/login`;
  const first = await browser.follow(await browser.get(start), start, anyLocalOrigin);
  const page = `${interactionAddress(await first.response.text(), first.url)}/smartcard`;
  const html = await (await browser.get(page)).text();
  const challenge = /data-smartcard-challenge="([^"]+)"/.exec(html)?.[1];
  const signed = await fetch(`${agent.url}/api/sign`, {
    method: "POST",
    headers: { origin: server.origin, "content-type": "application/json" },
    body: JSON.stringify({ challenge }),
  });
  assert.equal(signed.status, 200);
  const { certificate, signature } = (await signed.json()) as { certificate: string; signature: string };
  const { url, response } = await browser.follow(
    await browser.post(page, { certificate, signature }),
    page,
    anyLocalOrigin,
  );
  assert.equal(url, `${world.pointOfCare.url}/`);
  assert.match(await response.text(), /CIS2_SMARTCARD/);

  const since = agent.events.length;
  card.remove();
  await agent.waitFor("card-removed", since);
  assert.equal(await delivered(db), true, "the relying party was sent a logout token");
  const home = await (await browser.get(`${world.pointOfCare.url}/`)).text();
  assert.doesNotMatch(home, /CIS2_SMARTCARD/, "the relying party ended its session");
  const actions = await db
    .selectFrom("audit_events")
    .select("action")
    .where("action", "in", ["smartcard.present", "smartcard.removed", "cis2.sessions-ended"])
    .orderBy("seq")
    .execute();
  assert.deepEqual(
    actions.map((row) => row.action),
    ["smartcard.present", "smartcard.removed", "cis2.sessions-ended"],
  );
});

/** Back-channel logout is delivered by the service's worker within seconds. */
async function delivered(db: Db): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const row = await db
      .selectFrom("audit_events")
      .select("seq")
      .where("action", "=", "cis2.backchannel-logout.delivered")
      .executeTakeFirst();
    if (row) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
