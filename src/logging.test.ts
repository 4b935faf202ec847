import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { loggedUrl, loggerOptions } from "./logging.ts";

test("credentials are censored wherever the logs would carry them", () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const logger = pino(loggerOptions("info"), sink);
  logger.info({
    req: { method: "POST", headers: { authorization: "Bearer secret-token", cookie: "_session=abc" } },
    body: { password: "hunter2-hunter2", client_secret: "s3cret", token: "t0ken" },
  });
  const line = lines.join("");
  for (const secret of ["secret-token", "_session=abc", "hunter2", "s3cret", "t0ken"]) {
    assert.ok(!line.includes(secret), `${secret} must not be logged`);
  }
  assert.match(line, /"method":"POST"/, "the rest of the entry survives");
  assert.match(line, /\[redacted\]/);
});

test("request URLs keep their shape and protocol settings, never tokens, codes or searched values", () => {
  const cases: [string, string][] = [
    ["/authenticators/enrol/abc-DEF_123/app", "/authenticators/enrol/[redacted]/app"],
    [
      "/cim/callback?code=xyz&state=s1&iss=https%3A%2F%2Fid",
      "/cim/callback?code=[redacted]&state=[redacted]&iss=https%3A%2F%2Fid",
    ],
    ["/cim/api/v1/profiles?niNumber=QQ123456C&limit=5", "/cim/api/v1/profiles?niNumber=[redacted]&limit=5"],
    [
      "/healthcare-worker/FHIR/R4/Practitioner?family:exact=Smith&_count=2",
      "/healthcare-worker/FHIR/R4/Practitioner?family:exact=[redacted]&_count=2",
    ],
    [
      "/authorize?client_id=c1&login_hint=a%40nhs.net&scope=openid",
      "/authorize?client_id=c1&login_hint=[redacted]&scope=openid",
    ],
    ["/cim/profiles?Smith", "/cim/profiles?[redacted]"],
    ["/health/ready", "/health/ready"],
  ];
  for (const [url, logged] of cases) assert.equal(loggedUrl(url), logged);
});
