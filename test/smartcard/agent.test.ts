import assert from "node:assert/strict";
import { request } from "node:http";
import { test } from "node:test";
import { startAgent } from "../support/agent.ts";
import { leftOut } from "../support/prerequisites.ts";
import { softHsmCard } from "../support/tokens.ts";

const serviceOrigin = "http://127.0.0.1:9";

test("the agent serves only its own page and the service's origin; other callers are refused and reported", async (t) => {
  if (leftOut(t, "smartcard")) return;
  const card = softHsmCard();
  t.after(() => card.remove());
  const agent = await startAgent(t, { serviceUrl: `${serviceOrigin}/`, card });
  await agent.waitFor("card-inserted", 0);

  const page = await (await fetch(`${agent.url}/`)).text();
  assert.match(page, /is blank: it can be issued/);
  assert.match(page, /<form method="post" action="\/issue"/);

  const preflight = await fetch(`${agent.url}/api/sign`, {
    method: "OPTIONS",
    headers: {
      origin: serviceOrigin,
      "access-control-request-method": "POST",
      "access-control-request-private-network": "true",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), serviceOrigin);
  assert.equal(preflight.headers.get("access-control-allow-private-network"), "true");

  const status = await fetch(`${agent.url}/api/card`, { headers: { origin: serviceOrigin } });
  assert.equal(status.status, 200);
  assert.equal(((await status.json()) as { blank: boolean }).blank, true);

  const unsigned = await fetch(`${agent.url}/api/sign`, {
    method: "POST",
    headers: { origin: serviceOrigin, "content-type": "application/json" },
    body: JSON.stringify({ challenge: "A".repeat(43) }),
  });
  assert.equal(unsigned.status, 409, "a blank card has nothing to sign with");

  const since = agent.events.length;
  for (const origin of ["https://evil.example", "null"]) {
    const refused = await fetch(`${agent.url}/api/sign`, {
      method: "POST",
      headers: { origin, "content-type": "application/json" },
      body: JSON.stringify({ challenge: "A".repeat(43) }),
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get("access-control-allow-origin"), null);
  }
  const refusedPreflight = await fetch(`${agent.url}/api/sign`, {
    method: "OPTIONS",
    headers: { origin: "https://evil.example", "access-control-request-private-network": "true" },
  });
  assert.equal(refusedPreflight.status, 403);
  assert.equal(refusedPreflight.headers.get("access-control-allow-private-network"), null);
  assert.equal((await agent.waitFor("origin-refused", since)).origin, "https://evil.example");

  const forged = await fetch(`${agent.url}/passcode`, {
    method: "POST",
    headers: { origin: serviceOrigin, "content-type": "application/x-www-form-urlencoded" },
    body: "passcode=1234",
  });
  assert.equal(forged.status, 403, "only the agent's own page may post the passcode form");
  assert.equal(await statusWithHost(`${agent.url}/`, "evil.example"), 421, "a DNS-rebound name is refused");

  const reported = await (await fetch(`${agent.url}/`)).text();
  assert.match(reported, /Refused calls[\s\S]*https:\/\/evil\.example/);
  assert.doesNotMatch(agent.output(), /1234/, "no passcode reaches the agent's log");
});

/** fetch may not set Host; a rebinding attacker's browser sends its own name there. */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode);
    })
      .on("error", reject)
      .end();
  });
}
