import assert from "node:assert/strict";
import { test } from "node:test";
import { signInCounters, signInLimits, takeAttempt } from "../../src/authenticators/throttle.ts";
import { auditActions, singlePositionPeople } from "../authenticators/enrolment.ts";
import { demoClientConfiguration, redirectUri } from "../cis2/journey.ts";
import { startCis2Server } from "../support/cis2-server.ts";
import { federatedSignIn, linkByEnrolment } from "./journey.ts";
import { startUpstream } from "./upstream.ts";

test("NHS.net Connect returns are throttled by client address: refused ones count, a sign-in gives its count back, the limit answers 429", async (t) => {
  const server = await startCis2Server(t);
  const db = server.store.db;
  const upstream = await startUpstream(t, server);
  const configuration = await demoClientConfiguration(server);
  const [alice] = (await singlePositionPeople(db, 1)) as [string];
  await linkByEnrolment(server, alice, "alice.smith@nhs.net");
  const count = async () =>
    (
      await db
        .selectFrom("sign_in_throttles")
        .select("count")
        .where("key", "like", "failuresPerAddress:%")
        .executeTakeFirst()
    )?.count ?? 0;
  const signIn = () =>
    federatedSignIn(server, configuration, { acr: "AAL2_NHSMAIL", email: "alice.smith@nhs.net" });

  const ok = await signIn();
  assert.ok(ok.url.startsWith(redirectUri) && new URL(ok.url).searchParams.has("code"));
  assert.equal(await count(), 0, "a return that signed someone in is given back");

  await upstream.tamper({ nonce: "a-nonce-from-another-sign-in" });
  const bad = await signIn();
  assert.equal(bad.response?.status, 403);
  assert.equal(await count(), 1, "a refused return is counted");

  // The address's other refusals (wrong passwords, codes) share the limit: fill it up.
  const key = (
    await db
      .selectFrom("sign_in_throttles")
      .select("key")
      .where("key", "like", "failuresPerAddress:%")
      .executeTakeFirstOrThrow()
  ).key;
  const address = key.slice("failuresPerAddress:".length);
  const system = { kind: "system" as const, id: "test", source: "TEST" };
  for (let taken = 1; taken < signInLimits.failuresPerAddress.attempts; taken++)
    assert.ok((await takeAttempt(db, system, signInCounters.federated(address))).allowed);

  // Now even a good upstream answer is refused until the window ends.
  const throttled = await signIn();
  assert.equal(throttled.response?.status, 429);
  assert.ok(Number(throttled.response?.headers.get("retry-after")) > 0);
  assert.match(await (throttled.response?.text() ?? ""), /tried to sign in too many times/);
  assert.equal(
    (await auditActions(db, "cis2.authenticated")).filter(
      (event) => (event.after as { method?: string } | null)?.method === "NHSMAIL",
    ).length,
    1,
    "only the first sign-in authenticated anyone",
  );
  assert.ok((await auditActions(db, "sign-in.limit-reached")).length >= 1);
});
