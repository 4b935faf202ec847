import assert from "node:assert/strict";
import { test } from "node:test";
import { startCis2Server } from "../../test/support/cis2-server.ts";

/** Values that differ from one answer to the next; only their presence is compared. */
const varying = new Set(["date", "x-request-id", "content-length", "set-cookie", "location", "keep-alive"]);

/** An answer's headers as the wire carries them, with varying values and nonces normalised. */
async function headersOf(origin: string, path: string, accept: string, cookies: string[]) {
  const answer = await fetch(new URL(path, origin), {
    redirect: "manual",
    headers: { accept, cookie: cookies.join("; ") },
  });
  cookies.push(...answer.headers.getSetCookie().map((cookie) => cookie.split(";")[0] ?? ""));
  const body = await answer.text();
  const headers: Record<string, string> = {};
  for (const [name, value] of answer.headers)
    headers[name] = varying.has(name) ? "…" : value.replaceAll(/'nonce-[0-9a-f]{32}'/g, "'nonce-…'");
  const policy = answer.headers.get("content-security-policy") ?? "";
  const nonces = [...policy.matchAll(/'nonce-([0-9a-f]{32})'/g)].map((match) => match[1]);
  return { status: answer.status, headers, location: answer.headers.get("location") ?? "", body, nonces };
}

const policy =
  "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self' http: https:;" +
  "frame-ancestors 'self';img-src 'self' data:;object-src 'none';script-src 'self' 'nonce-…';" +
  "script-src-attr 'none';style-src 'self' 'nonce-…';connect-src 'self' http://127.0.0.1:8765";
/** Helmet's headers with the service's options, as every answer but the FHIR APIs' carries them. */
const securityHeaders = {
  "content-security-policy": policy,
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "origin-agent-cluster": "?1",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-dns-prefetch-control": "off",
  "x-download-options": "noopen",
  "x-frame-options": "SAMEORIGIN",
  "x-permitted-cross-domain-policies": "none",
  "x-xss-protection": "0",
};
const connection = { connection: "keep-alive", "keep-alive": "…", date: "…", "content-length": "…" };

test("every kind of answer carries the service's security headers, with a fresh nonce in each", async (t) => {
  const server = await startCis2Server(t);
  const cookies: string[] = [];
  const get = (path: string, accept = "text/html") => headersOf(server.origin, path, accept, cookies);
  const cim = await get("/cim");
  const signIn = await get(cim.location);
  // The authorization request answers with the sign-in's first page (cis2/first-page-in-place.ts);
  // asked not to show any, it redirects to the client itself.
  const page = await get(signIn.location);
  const authorize = await get(`${signIn.location}&prompt=none`);
  const home = await get("/");
  const discovery = await get(
    `${new URL(server.issuer).pathname}/.well-known/openid-configuration`,
    "application/json",
  );
  const api = await get("/api/rbac/job-roles/R8001", "application/json");
  const missing = await get("/nothing-here", "application/json");
  const fhir = await get("/healthcare-worker/FHIR/R4/metadata", "application/fhir+json");

  const fromFastify = { ...connection, ...securityHeaders, "x-request-id": "…" };
  assert.equal(cim.status, 303, "a redirect by a route of the service");
  assert.deepEqual(cim.headers, { ...fromFastify, location: "…" });
  assert.deepEqual(signIn.headers, { ...fromFastify, location: "…", "set-cookie": "…" });
  // oidc-provider writes to the raw response, past Fastify's hooks that run at the answer.
  assert.equal(authorize.status, 303, "a redirect by oidc-provider");
  assert.deepEqual(authorize.headers, {
    ...connection,
    ...securityHeaders,
    location: "…",
    "cache-control": "no-store",
    "content-type": "text/html; charset=utf-8",
  });
  assert.equal(page.status, 200, "the sign-in page, in the provider's place");
  assert.deepEqual(page.headers, {
    ...fromFastify,
    "set-cookie": "…",
    "cache-control": "no-store",
    "content-type": "text/html; charset=utf-8",
  });
  assert.deepEqual(home.headers, { ...fromFastify, "content-type": "text/html; charset=utf-8" });
  assert.deepEqual(discovery.headers, {
    ...connection,
    ...securityHeaders,
    "access-control-allow-origin": "*",
    "content-type": "application/json; charset=utf-8",
    vary: "Origin",
  });
  assert.deepEqual(api.headers, { ...fromFastify, "content-type": "application/json; charset=utf-8" });
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.headers, {
    ...fromFastify,
    "content-type": "application/problem+json; charset=utf-8",
  });
  // The FHIR APIs skip the page headers and send their own, fixed once, without a nonce.
  assert.equal(fhir.status, 200);
  const documentOnly = [
    "cross-origin-opener-policy",
    "origin-agent-cluster",
    "x-dns-prefetch-control",
    "x-download-options",
    "x-permitted-cross-domain-policies",
    "x-xss-protection",
  ];
  assert.deepEqual(fhir.headers, {
    ...Object.fromEntries(Object.entries(fromFastify).filter(([name]) => !documentOnly.includes(name))),
    "content-security-policy": policy.replaceAll(" 'nonce-…'", ""),
    "content-type": "application/fhir+json; charset=utf-8",
  });

  // The page's script carries the policy's script nonce; every answer has nonces of its own.
  for (const answer of [home, page]) {
    const [script, style] = answer.nonces;
    assert.match(answer.body, new RegExp(`<script [^>]*nonce="${script}"`));
    assert.notEqual(script, style);
  }
  const drawn = [cim, signIn, authorize, page, home, discovery, api, missing].flatMap(
    (answer) => answer.nonces,
  );
  assert.equal(drawn.length, 16);
  assert.equal(new Set(drawn).size, drawn.length, "no nonce is used twice");
});
