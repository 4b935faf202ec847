import assert from "node:assert/strict";
import { test } from "node:test";
import { startPointOfCare } from "../../examples/point-of-care/app.ts";
import { scope } from "../../examples/point-of-care/cis2.ts";
import { operatorActor } from "../../src/audit/actor.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { grantPosition } from "../../src/rbac/positions.ts";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { signInToCimInChromium } from "../registration/cim-browser.ts";
import { launchChromium } from "../support/chromium.ts";
import { freePort, startCis2Server } from "../support/cis2-server.ts";
import { leftOut } from "../support/prerequisites.ts";

/**
 * The journey in Chromium: a supplier developer registers a development client on the
 * relying-party pages, the relying party (the example point-of-care app) runs with the id and
 * the secret shown once, and a person signs in to it and sees their own claims.
 */
test("a development client registered on the pages signs a person in, who sees their exact claims", async (t) => {
  if (leftOut(t, "browser")) return;
  const server = await startCis2Server(t);
  const lists = await readCodeLists(server.store.db);
  const developer = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", "oliver.bennett@nhs.net")
    .executeTakeFirstOrThrow();
  await grantPosition(server.store.db, operatorActor(), lists, {
    uuid: developer.uuid,
    odsCode: "RZZ",
    jobRole: "R8000",
    activities: ["B9903"],
    startDate: "2020-01-01",
  });
  const appPort = await freePort();
  const appUrl = `http://127.0.0.1:${appPort}`;
  const { context, page } = await launchChromium(t);
  page.setDefaultTimeout(15_000);

  await signInToCimInChromium(page, server, "oliver.bennett@nhs.net");
  await page.goto(`${server.origin}/cim/relying-parties`);
  await page.getByRole("link", { name: "Register a client" }).click();
  await page.getByLabel("Name", { exact: true }).fill("Ward round app (development)");
  await page.getByLabel("Development", { exact: true }).check();
  await page.getByLabel("Redirect URIs").fill(`${appUrl}/callback`);
  await page.getByLabel("Logout URIs (optional)").fill(`${appUrl}/`);
  await page.getByLabel(/client_secret_post/).check();
  for (const wanted of scope.split(" ").filter((name) => name !== "openid"))
    await page.getByLabel(wanted, { exact: true }).check();
  await page.getByLabel("Default acr").selectOption("AAL1_USERPASS");
  await page.getByRole("button", { name: "Register client" }).click();
  const clientId = (await page.locator("#client-id").innerText()).trim();
  const clientSecret = (await page.locator("#client-secret").innerText()).trim();
  assert.match(clientId, /^[0-9]{12}\.apps\.national$/);

  const pointOfCare = await startPointOfCare({
    issuer: server.issuer,
    clientId,
    clientSecret,
    acrValues: "AAL1_USERPASS",
    maxAge: 300,
    port: appPort,
    host: "127.0.0.1",
    cookieSecret: "a-cookie-secret-for-the-journey-only",
    quiet: true,
  });
  t.after(() => pointOfCare.close());

  await context.clearCookies();
  await page.goto(`${appUrl}/login`);
  await page.locator('input[name="identifier"]').fill("margaret.oconnell@nhs.net");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.locator('input[name="password"]').fill(demoPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#selected-role").waitFor();

  const margaret = await server.store.db
    .selectFrom("people")
    .select("uuid")
    .where("email", "=", "margaret.oconnell@nhs.net")
    .executeTakeFirstOrThrow();
  const [position] = await server.store.db
    .selectFrom("positions")
    .select(["role_profile_id", "job_role_code"])
    .where("uuid", "=", margaret.uuid)
    .execute();
  const text = await page.locator("main").innerText();
  assert.match(text, new RegExp(margaret.uuid));
  assert.match(text, /AAL1_USERPASS \(pwd\), authentication assurance level 1/);
  assert.match(text, /margaret\.oconnell@nhs\.net/);
  assert.match(await page.locator("#selected-role").innerText(), new RegExp(String(position?.job_role_code)));
  await context.close();
});
