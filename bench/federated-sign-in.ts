/**
 * NHS.net Connect: federated sign-ins per second on one node, with the Entra-shaped upstream
 * (test/federation/entra-like-provider.ts, its own process) on the same machine. Each sign-in is
 * the whole journey: the relying party's authorization request, identify, the upstream's sign-in
 * page, its code redeemed by openid-client (PKCE, state, nonce, ID token checked), amr NHSMAIL
 * through the one completion function, and the relying party's token exchange.
 *
 *   node bench/federated-sign-in.ts [--sign-ins 300] [--users 8] [--concurrency 8]
 *   TEST_DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres node bench/federated-sign-in.ts
 *
 * Runs under node:test so the servers it starts are stopped when it ends. Results go in
 * docs/benchmarks.md (the lead runs it on a quiet machine).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseArgs } from "node:util";
import * as client from "openid-client";
import { singlePositionPeople } from "../test/authenticators/enrolment.ts";
import { demoClientConfiguration } from "../test/cis2/journey.ts";
import { federatedSignIn, linkByEnrolment } from "../test/federation/journey.ts";
import { startUpstream } from "../test/federation/upstream.ts";
import { startCis2Server } from "../test/support/cis2-server.ts";
import { workstationAddress } from "./cis2-support.ts";

const { values } = parseArgs({
  options: {
    "sign-ins": { type: "string", default: "300" },
    users: { type: "string", default: "8" },
    concurrency: { type: "string", default: "8" },
  },
});
const signIns = Number(values["sign-ins"]);
const users = Number(values.users);
const concurrency = Number(values.concurrency);

test(`federated sign-ins per second (${signIns} sign-ins, ${users} users, ${concurrency} at once)`, async (t) => {
  // Each person signs in from a workstation address of their own, as people at many workstations
  // would: from one address the identify throttle (300 a minute) would end the run.
  const server = await startCis2Server(t, { CAREID_TRUST_PROXY: "true" });
  await startUpstream(t, server);
  const configuration = await demoClientConfiguration(server);
  const people = await singlePositionPeople(server.store.db, users);
  for (const [index, uuid] of people.entries())
    await linkByEnrolment(server, uuid, `bench.user${index}@nhs.net`);
  const one = async (n: number) => {
    const index = n % people.length;
    const journey = await federatedSignIn(server, configuration, {
      acr: "AAL2_NHSMAIL",
      email: `bench.user${index}@nhs.net`,
      identifier: people[index],
      headers: workstationAddress(people[index] as string),
    });
    const tokens = await client.authorizationCodeGrant(configuration, new URL(journey.url), {
      pkceCodeVerifier: journey.verifier,
      expectedState: journey.state,
      expectedNonce: journey.nonce,
      idTokenExpected: true,
    });
    assert.deepEqual(tokens.claims()?.amr, ["NHSMAIL"]);
  };
  for (let warm = 0; warm < Math.min(20, signIns); warm++) await one(warm);
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < signIns) await one(next++);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      benchmark: "federated-sign-in",
      signIns,
      seconds: Number(seconds.toFixed(2)),
      perSecond: Number((signIns / seconds).toFixed(1)),
    }),
  );
});
