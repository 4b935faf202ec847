import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../support/cis2-server.ts";
import { uuidOf } from "../support/ra-directory.ts";
import { accessTokenFor, caller } from "./cim-api.ts";
import { formToken, signInToCim } from "./cim-browser.ts";

const huge = "99999999999999999999";

test("the CIM API answers NUL bytes and huge numbers with 400 problem+json, never a 500", async (t) => {
  const server = await startCis2Server(t);
  const agent = caller(server, await accessTokenFor(server, "tunde.adebayo@nhs.net"));
  const someone = await uuidOf(server.store.db, "Bennett");
  const cases: [string, string, string, unknown?][] = [
    ["name search", "GET", "/profiles?name=Ben%00"],
    ["NI number search", "GET", "/profiles?niNumber=QQ%00123456C"],
    ["email search", "GET", "/profiles?email=a%00@nhs.net"],
    ["NUL in a parameter name", "GET", "/profiles?na%00me=Ben"],
    ["profile offset", "GET", `/profiles?name=Ben&offset=${huge}`],
    ["request offset", "GET", `/requests?offset=${huge}`],
    ["profile in the path", "GET", "/profiles/5550%000000000"],
    ["authenticator in the path", "POST", `/profiles/${someone}/authenticators/a%00/remove`, {}],
    ["details change in the body", "PATCH", `/profiles/${someone}`, { changes: { familyName: "Ben\u0000" } }],
    ["reason in the body", "POST", `/profiles/${someone}/close`, { reason: "left\u0000" }],
    [
      "approval version",
      "POST",
      "/requests/555000000001/approve",
      { version: Number(huge), reason: "checked" },
    ],
  ];
  for (const [name, method, path, body] of cases) {
    const response = await agent(method, path, body);
    assert.equal(response.status, 400, `${name}: ${JSON.stringify(response.body)}`);
    assert.match(response.type, /^application\/problem\+json/, name);
    assert.equal(response.body.status, 400, name);
    assert.equal(response.body.type, "https://careid.example/problems/invalid-input", name);
    assert.ok(response.body.errors.length > 0, `${name} names the field at fault`);
  }
});

test("CIM pages answer a NUL byte with the NHS error summary, and change nothing", async (t) => {
  const server = await startCis2Server(t);
  const { browser } = await signInToCim(server, "tunde.adebayo@nhs.net");
  const someone = await uuidOf(server.store.db, "Bennett");
  const changePage = await (await browser.get(`${server.origin}/cim/profiles/${someone}/change`)).text();
  const before = await server.store.db.selectFrom("audit_events").select("seq").execute();
  const responses = [
    await browser.get(`${server.origin}/cim/profiles?name=Ben%00`),
    await browser.get(`${server.origin}/cim/profiles/5550%000000000`),
    await browser.post(`${server.origin}/cim/profiles/${someone}/change`, {
      _form: formToken(changePage),
      familyName: "Bennett\u0000",
    }),
  ];
  for (const response of responses) {
    assert.equal(response.status, 400);
    const html = await response.text();
    assert.match(html, /nhsuk-error-summary/);
    assert.match(html, /must not contain a NUL byte/);
  }
  const after = await server.store.db.selectFrom("audit_events").select("seq").execute();
  assert.equal(after.length, before.length, "nothing was recorded");
});

test("the service's other pages and JSON answer a NUL byte in their own conventions", async (t) => {
  const server = await startCis2Server(t);
  const page = await fetch(`${server.origin}/authenticators/enrol/%00`, { headers: { accept: "text/html" } });
  assert.equal(page.status, 400);
  assert.match(await page.text(), /nhsuk-error-summary/);
  const json = await fetch(`${server.origin}/api/organisations/RZZ%00`);
  assert.equal(json.status, 400);
  assert.match(String(json.headers.get("content-type")), /^application\/problem\+json/);
  const problem = (await json.json()) as { errors: { field: string }[] };
  assert.equal(problem.errors[0]?.field, "path.odsCode");
});
