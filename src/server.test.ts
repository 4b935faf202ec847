import assert from "node:assert/strict";
import { test } from "node:test";
import { demoServer } from "../test/support/demo-server.ts";

test("the home page lists the service's parts and the directory's size in the NHS design system", async (t) => {
  const { app } = await demoServer(t);
  const response = await app.inject({ url: "/", headers: { accept: "text/html" } });
  assert.equal(response.statusCode, 200);
  assert.match(response.body, /<link rel="stylesheet" href="\/assets\/nhsuk-frontend\.min\.css">/);
  assert.match(response.body, /class="nhsuk-header/);
  assert.match(response.body, /CIS2 Authentication/);
  assert.match(response.body, /data-count="people">37</);
  const css = await app.inject({ url: "/assets/nhsuk-frontend.min.css" });
  assert.equal(css.statusCode, 200);
  assert.match(String(css.headers["content-type"]), /text\/css/);
  assert.match(response.body, /<script type="module" src="\/scripts\/header\.js"/);
  const header = await app.inject({ url: "/scripts/header.js" });
  assert.equal(header.statusCode, 200);
  assert.match(String(header.headers["content-type"]), /javascript/);
  assert.match(header.body, /import \{ initHeader \} from "\/assets\/nhsuk-frontend\.min\.js"/);
  const designSystem = await app.inject({ url: "/assets/nhsuk-frontend.min.js" });
  assert.match(designSystem.body, /initHeader/, "the module the header script imports exports it");
  const nonce = /nonce="([^"]+)"/.exec(response.body)?.[1];
  assert.ok(nonce, "the layout's inline script carries a CSP nonce");
  assert.match(String(response.headers["content-security-policy"]), new RegExp(`'nonce-${nonce}'`));
  const policy = String(response.headers["content-security-policy"]);
  assert.match(policy, /style-src 'self'/, "the design system's stylesheet may load");
  assert.match(policy, /script-src 'self'/);
  assert.doesNotMatch(
    policy,
    /upgrade-insecure-requests/,
    "a plain-HTTP development server keeps its assets",
  );
});

test("health reports the database, and metrics are in Prometheus format", async (t) => {
  const { app } = await demoServer(t);
  const live = await app.inject({ url: "/health/live" });
  assert.deepEqual(live.json(), { status: "pass" });
  const ready = await app.inject({ url: "/health/ready" });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.json().status, "pass");
  await app.inject({ url: "/api/rbac/job-roles/R8001" });
  const metrics = await app.inject({ url: "/metrics" });
  assert.match(
    metrics.body,
    /careid_http_request_duration_seconds_count\{method="GET",route="\/api\/rbac\/job-roles\/:code",status="200"\} 1/,
  );
  assert.match(metrics.body, /careid_process_cpu_user_seconds_total/);
});

test("readiness fails with 503 when the database is gone", async (t) => {
  const { app, store } = await demoServer(t);
  await store.db.destroy();
  const ready = await app.inject({ url: "/health/ready" });
  assert.equal(ready.statusCode, 503);
  assert.equal(ready.json().status, "fail");
});

test("JSON API errors are RFC 9457 problem details naming the field", async (t) => {
  const { app } = await demoServer(t);
  const malformed = await app.inject({ url: "/api/organisations/n%20o" });
  assert.equal(malformed.statusCode, 400);
  assert.equal(malformed.headers["content-type"], "application/problem+json; charset=utf-8");
  assert.equal(malformed.json().errors[0].field, "params.odsCode");
  const unknown = await app.inject({ url: "/api/rbac/job-roles/R9999" });
  assert.equal(unknown.statusCode, 404);
  assert.deepEqual(
    { title: unknown.json().title, status: unknown.json().status },
    { title: "Not found", status: 404 },
  );
  assert.match(unknown.json().instance, /^urn:careid:request:/);
  const nowhere = await app.inject({ url: "/api/nowhere" });
  assert.equal(nowhere.statusCode, 404);
  assert.equal(nowhere.json().type, "https://careid.example/problems/not-found");
});

test("a page that does not exist gets an NHS-style page, not JSON", async (t) => {
  const { app } = await demoServer(t);
  const response = await app.inject({ url: "/nowhere", headers: { accept: "text/html" } });
  assert.equal(response.statusCode, 404);
  assert.match(response.body, /<h1 class="nhsuk-heading-xl">Page not found<\/h1>/);
});

test("request ids are echoed, and a caller's well-formed id is kept", async (t) => {
  const { app } = await demoServer(t);
  const given = await app.inject({ url: "/health/live", headers: { "x-request-id": "abc-123" } });
  assert.equal(given.headers["x-request-id"], "abc-123");
  const hostile = await app.inject({ url: "/health/live", headers: { "x-request-id": "<script>" } });
  assert.match(String(hostile.headers["x-request-id"]), /^[0-9a-f-]{36}$/);
});

test("job roles read with baseline activities and their inclusions", async (t) => {
  const { app } = await demoServer(t);
  const nurse = (await app.inject({ url: "/api/rbac/job-roles/S8000:G8000:R8001" })).json();
  assert.equal(nurse.code, "S8000:G8000:R8001");
  assert.equal(nurse.name, '"Clinical":"Clinical Provision":"Nurse Access Role"');
  const codes = nurse.baselineActivities.map((activity: { code: string }) => activity.code);
  assert.ok(codes.includes("B0380") && codes.includes("B8028"), "B0380 brings B8028 with it");
  const organisation = (await app.inject({ url: "/api/organisations/rzz" })).json();
  assert.equal(organisation.odsCode, "RZZ");
});
