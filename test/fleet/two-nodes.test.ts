import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { decodeProtectedHeader } from "jose";
import {
  assertAuditIntact,
  careid,
  checkFleetTools,
  postgresCluster,
  startFleet,
  temporaryDirectory,
} from "./fleet.ts";
import { demoPeople, fleetSignIn } from "./sign-in.ts";

/** Polls a check on every node until all pass; fails if that takes a second or more. */
async function onEveryNodeWithinASecond(
  what: string,
  origins: string[],
  check: (origin: string) => Promise<boolean>,
) {
  const started = Date.now();
  for (const origin of origins) {
    while (!(await check(origin))) {
      assert.ok(Date.now() - started < 1000, `${what} on ${origin}: not within a second`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

test("two nodes behind HAProxy share every sign-in and see each other's changes at once", async (t) => {
  checkFleetTools();
  const database = await postgresCluster(t, 55601);
  const fleet = await startFleet(t, database, { nodes: 2, port: 4600, demo: true });
  const nodes = [fleet.nodeOrigin(1), fleet.nodeOrigin(2)];
  const people = (await demoPeople(fleet.origin)).filter((person) => person.positions.length === 1);
  assert.ok(people.length >= 3);
  const [first, second, leaver] = people;

  await t.test("a sign-in started on one node (authorize, identify) finishes on the other", async () => {
    const signedIn = await fleetSignIn({
      issuer: fleet.issuer,
      identifier: first?.uuid ?? "",
      via: (step) => (step <= 3 ? nodes[0] : nodes[1]) as string,
    });
    assert.equal(signedIn.sub, first?.uuid);
    assert.deepEqual(signedIn.answeredBy.slice(0, 4), Array(4).fill(nodes[0]));
    assert.ok(signedIn.answeredBy.length > 6);
    assert.deepEqual(
      new Set(signedIn.answeredBy.slice(4)),
      new Set([nodes[1]]),
      "method, token and UserInfo on node 2",
    );
    assert.equal(signedIn.retries, 0);
    // And through the load balancer, alternating at every step.
    const alternating = await fleetSignIn({
      issuer: fleet.issuer,
      identifier: second?.uuid ?? "",
      via: (step) => nodes[step % 2] as string,
    });
    assert.equal(alternating.sub, second?.uuid);
  });

  await t.test(
    "a client registered, then removed, works and stops working on both nodes at once",
    async () => {
      const dir = temporaryDirectory(t, "client");
      const clientId = "123456789012.apps.supplier";
      writeFileSync(
        join(dir, "client.json"),
        JSON.stringify({
          client_id: clientId,
          client_name: "Fleet test relying party",
          token_endpoint_auth_method: "client_secret_post",
          client_secret: "a-fleet-test-secret-long-enough-for-cis2",
          redirect_uris: ["http://127.0.0.1:3002/callback"],
          // An http redirect URI on loopback: a development client, as the client rules require.
          environment: "development",
        }),
      );
      const authorize = (origin: string) =>
        fetch(
          `${origin}${new URL(fleet.issuer).pathname}/authorize?${new URLSearchParams({
            client_id: clientId,
            response_type: "code",
            redirect_uri: "http://127.0.0.1:3002/callback",
            scope: "openid",
            code_challenge: "x".repeat(43),
            code_challenge_method: "S256",
          })}`,
          { redirect: "manual" },
        );
      const added = await careid(["clients", "add", "--file", join(dir, "client.json")], fleet.env);
      assert.equal(added.code, 0, added.stderr);
      await onEveryNodeWithinASecond("the new client is accepted", nodes, async (origin) => {
        // The authorization request is answered with the sign-in's first page.
        const response = await authorize(origin);
        return response.status === 200 && (await response.text()).includes("Sign in with your Care Identity");
      });
      const removed = await careid(["clients", "remove", "--id", clientId], fleet.env);
      assert.equal(removed.code, 0, removed.stderr);
      await onEveryNodeWithinASecond("the removed client is refused", nodes, async (origin) => {
        const response = await authorize(origin);
        return response.status === 400;
      });
    },
  );

  await t.test("a rotated signing key is published and signs on both nodes at once", async () => {
    const rotated = await careid(["keys", "rotate", "--grace-seconds", "0"], fleet.env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const kid = /New key (\S+) /.exec(rotated.stdout)?.[1];
    assert.ok(kid);
    await onEveryNodeWithinASecond("the new key is in the JWKS", nodes, async (origin) => {
      const jwks = (await (
        await fetch(`${origin}${new URL(fleet.issuer).pathname}/connect/jwk_uri`)
      ).json()) as {
        keys: { kid: string }[];
      };
      return jwks.keys.some((key) => key.kid === kid);
    });
    for (const origin of nodes) {
      const signedIn = await fleetSignIn({
        issuer: fleet.issuer,
        identifier: second?.uuid ?? "",
        via: () => origin,
      });
      assert.equal(decodeProtectedHeader(signedIn.idToken).kid, kid, `${origin} signs with the new key`);
    }
  });

  await t.test("a revoked API key is refused by both nodes at once", async () => {
    const issued = await careid(["apps", "add", "--name", "Fleet test GP system"], fleet.env);
    assert.equal(issued.code, 0, issued.stderr);
    const key = /API key \(shown once\): (\S+)/.exec(issued.stdout)?.[1] ?? "";
    const id = /Application (\S+) /.exec(issued.stdout)?.[1] ?? "";
    const practitioner = (origin: string) =>
      fetch(`${origin}/healthcare-worker/FHIR/R4/Practitioner/${first?.uuid}`, {
        headers: { apikey: key, accept: "application/fhir+json" },
      });
    // Both nodes now remember the key.
    for (const origin of nodes) assert.equal((await practitioner(origin)).status, 200);
    const revoked = await careid(["apps", "revoke", "--id", id], fleet.env);
    assert.equal(revoked.code, 0, revoked.stderr);
    await onEveryNodeWithinASecond("the revoked key is refused", nodes, async (origin) => {
      return (await practitioner(origin)).status === 401;
    });
  });

  await t.test("a profile closed ends its tokens and its directory entry on both nodes at once", async () => {
    const signedIn = await fleetSignIn({
      issuer: fleet.issuer,
      identifier: leaver?.uuid ?? "",
      via: () => nodes[0] as string,
    });
    const userinfo = (origin: string) =>
      fetch(`${origin}${new URL(fleet.issuer).pathname}/userinfo`, {
        headers: { authorization: `Bearer ${signedIn.accessToken}` },
      });
    for (const origin of nodes) assert.equal((await userinfo(origin)).status, 200);
    const closed = await careid(
      ["people", "close", "--uuid", leaver?.uuid ?? "", "--reason", "Left the trust"],
      fleet.env,
    );
    assert.equal(closed.code, 0, closed.stderr);
    await onEveryNodeWithinASecond("the leaver's access token is refused", nodes, async (origin) => {
      return (await userinfo(origin)).status === 401;
    });
    const page = await fetch(`${nodes[1]}${new URL(fleet.issuer).pathname}/userinfo`);
    assert.equal(page.status, 401);
  });

  await assertAuditIntact(fleet.env);
});
