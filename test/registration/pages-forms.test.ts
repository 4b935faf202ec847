import assert from "node:assert/strict";
import { test } from "node:test";
import { Browser } from "../support/browser.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { formToken, pageText, signInToCim } from "./cim-browser.ts";

test("a CIM form post without this session's form token is refused and changes nothing", async (t) => {
  const server = await startCis2Server(t);
  const sessions = async () =>
    (await server.store.db.selectFrom("cim_sessions").select("uuid").execute()).length;
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
