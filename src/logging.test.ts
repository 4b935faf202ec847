import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { loggerOptions } from "./logging.ts";

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
