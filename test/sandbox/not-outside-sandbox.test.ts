import assert from "node:assert/strict";
import { test } from "node:test";
import { realmPath } from "../../src/config.ts";
import { chooserPath } from "../../src/sandbox/chooser-routes.ts";
import { startCis2Server } from "../support/cis2-server.ts";

test("a service not started by careid sandbox has no persona chooser, no sandbox realm and no banner", async (t) => {
  const server = await startCis2Server(t);
  for (const path of [
    chooserPath("someinteraction"),
    `/sandbox${realmPath}/.well-known/openid-configuration`,
  ]) {
    for (const method of ["GET", "POST"] as const) {
      const response = await fetch(`${server.origin}${path}`, {
        method,
        ...(method === "POST"
          ? {
              body: "persona=ward-nurse&method=CIS2_SMARTCARD",
              headers: { "content-type": "application/x-www-form-urlencoded" },
            }
          : {}),
      });
      assert.equal(response.status, 404, `${method} ${path}`);
    }
  }
  const discovery = await fetch(`${server.issuer}/.well-known/openid-configuration`);
  assert.equal(((await discovery.json()) as { issuer: string }).issuer, server.issuer);
  assert.doesNotMatch(server.issuer, /sandbox/);
  const home = await (await fetch(`${server.origin}/`)).text();
  assert.doesNotMatch(home, /sandbox-banner/);
});
