import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { type TestContext, test } from "node:test";
import { sql } from "kysely";
import { operatorActor } from "../src/audit/actor.ts";
import { issueEnrolmentLink } from "../src/authenticators/enrolment/links.ts";
import { issueApplication } from "../src/directory/applications/applications.ts";
import { demoClientId } from "../src/seed/demo-sign-in.ts";
import { redirectUri } from "./cis2/journey.ts";
import { accessTokenFor, caller } from "./registration/cim-api.ts";
import { signInToCim } from "./registration/cim-browser.ts";
import { type Cis2Server, startCis2Server } from "./support/cis2-server.ts";
import { uuidOf } from "./support/ra-directory.ts";

/** A running service whose log lines (pino JSON, at info) are kept for the test to read. */
async function loggingServer(t: TestContext): Promise<{ server: Cis2Server; lines: string[] }> {
  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  const server = await startCis2Server(t, { LOG_LEVEL: "info" }, "127.0.0.1", { logStream });
  return { server, lines };
}

function authorizeUrl(server: Cis2Server, extra: Record<string, string> = {}): string {
  return `${server.issuer}/authorize?${new URLSearchParams({
    client_id: demoClientId,
    response_type: "code",
    scope: "openid",
    redirect_uri: redirectUri,
    state: "s",
    ...extra,
  })}`;
}

test("request logs hold no enrolment token, authorization code or searched personal data", async (t) => {
  const { server, lines } = await loggingServer(t);
  const { db } = server.store;

  // An enrolment link opened: its token is the credential.
  const bennett = await uuidOf(db, "Bennett");
  const { token } = await issueEnrolmentLink(db, operatorActor(), { uuid: bennett });
  await fetch(`${server.origin}/authenticators/enrol/${token}`, { headers: { accept: "text/html" } });

  // A sign-in to CIM: the code comes back to CIM's own callback on this service.
  await signInToCim(server, "tunde.adebayo@nhs.net");
  const codes = await sql<{
    id: string;
  }>`SELECT id FROM oidc_models WHERE kind = 'AuthorizationCode'`.execute(db);
  assert.ok(codes.rows.length > 0, "a code was issued");

  // A sign-in started with a login hint: an email address.
  const hint = "olivia.hartley-quist@nhs.net";
  await fetch(authorizeUrl(server, { login_hint: hint }), { redirect: "manual" });

  // CIM API searches by NI number, email and name.
  const agent = caller(server, await accessTokenFor(server, "tunde.adebayo@nhs.net"));
  const personal = { niNumber: "PE118244C", email: "imogen.fairfax@nhs.net", name: "Fairfaxley" };
  for (const [name, value] of Object.entries(personal))
    await agent("GET", `/profiles?${new URLSearchParams({ [name]: value, limit: "5" })}`);
  // FHIR: a person's UUID, and a name search.
  const { key } = await issueApplication(db, operatorActor(), { name: "Logs", rateLimitPerMinute: 1000 });
  await fetch(`${server.origin}/healthcare-worker/FHIR/R4/Practitioner?identifier=${bennett}`, {
    headers: { apikey: key },
  });
  await fetch(`${server.origin}/organisation/FHIR/R4/Organization?name=Quistwood`, {
    headers: { apikey: key },
  });

  const log = lines.join("\n");
  const secrets = [
    token,
    ...codes.rows.map((row) => row.id),
    hint,
    encodeURIComponent(hint),
    ...Object.values(personal),
    encodeURIComponent(personal.email),
    bennett,
    "Quistwood",
  ];
  for (const secret of secrets) assert.ok(!log.includes(secret), `the logs must not hold ${secret}`);
  // The requests were logged, with what is safe to keep.
  for (const expected of [
    "/authenticators/enrol/[redacted]",
    "/cim/callback?code=[redacted]&state=[redacted]",
    "login_hint=[redacted]",
    `client_id=${demoClientId}`,
    "/cim/api/v1/profiles?niNumber=[redacted]&limit=5",
    "/cim/api/v1/profiles?email=[redacted]&limit=5",
    "/cim/api/v1/profiles?name=[redacted]&limit=5",
    "/healthcare-worker/FHIR/R4/Practitioner?identifier=[redacted]",
    "/organisation/FHIR/R4/Organization?name=[redacted]",
  ])
    assert.ok(log.includes(expected), `the logs hold ${expected}`);
});

test("a failure inside the OIDC provider is logged at error level, and answered without internals", async (t) => {
  const { server, lines } = await loggingServer(t);
  // The provider's store breaks under it, as a lost table or a failed migration would.
  await sql`ALTER TABLE oidc_models RENAME TO oidc_models_lost`.execute(server.store.db);
  const response = await fetch(authorizeUrl(server), {
    redirect: "manual",
    headers: { accept: "application/json" },
  });
  const body = await response.text();
  assert.doesNotMatch(body, /oidc_models/, "the answer names no internals");
  const logged = lines.map((line) => JSON.parse(line)).filter((entry) => entry.level === 50);
  assert.ok(
    logged.some(
      (entry) => entry.msg === "CIS2 provider request failed" && /oidc_models/.test(entry.err?.message ?? ""),
    ),
    `the provider's failure is logged at error level: ${JSON.stringify(logged)}`,
  );
});
