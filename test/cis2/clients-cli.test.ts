import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const main = new URL("../../src/main.ts", import.meta.url).pathname;

function careid(
  args: string[],
  dataDir: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [main, ...args], {
    env: { ...process.env, DATABASE_URL: "", CAREID_DATA_DIR: dataDir, LOG_LEVEL: "warn" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

test("careid clients add, list, show and remove; bad metadata is refused", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "careid-clients-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, "client.json");
  const secret = "a-client-secret-that-is-long-enough-to-use";
  writeFileSync(
    file,
    JSON.stringify({
      client_id: "999999999998.apps.national",
      client_name: "Ward app",
      redirect_uris: ["https://ward.example/callback"],
      token_endpoint_auth_method: "client_secret_post",
      client_secret: secret,
      default_acr_values: ["AAL3_ANY"],
    }),
  );
  const added = await careid(["clients", "add", "--file", file], dir);
  assert.equal(added.code, 0, added.stderr);
  assert.equal(JSON.parse(added.stdout).client_id, "999999999998.apps.national");
  assert.ok(!added.stdout.includes(secret), "the secret is never printed back");

  const listed = await careid(["clients", "list"], dir);
  assert.match(listed.stdout, /999999999998\.apps\.national\tWard app/);
  const shown = await careid(["clients", "show", "--id", "999999999998.apps.national"], dir);
  assert.deepEqual(JSON.parse(shown.stdout).redirect_uris, ["https://ward.example/callback"]);

  const duplicate = await careid(["clients", "add", "--file", file], dir);
  assert.equal(duplicate.code, 2);
  assert.match(duplicate.stderr, /already registered/);

  writeFileSync(
    file,
    JSON.stringify({
      client_id: "x",
      redirect_uris: ["not a url"],
      token_endpoint_auth_method: "private_key_jwt",
    }),
  );
  const bad = await careid(["clients", "add", "--file", file], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /client_id/);
  assert.match(bad.stderr, /jwks/);

  const removed = await careid(["clients", "remove", "--id", "999999999998.apps.national"], dir);
  assert.equal(removed.code, 0, removed.stderr);
  const gone = await careid(["clients", "show", "--id", "999999999998.apps.national"], dir);
  assert.equal(gone.code, 2);

  const rotated = await careid(["keys", "rotate", "--grace-seconds", "0"], dir);
  assert.equal(rotated.code, 0, rotated.stderr);
  const keys = JSON.parse((await careid(["keys", "list"], dir)).stdout) as {
    kid: string;
    retired_at: string | null;
  }[];
  assert.equal(keys.length, 2);
  assert.equal(keys.filter((key) => key.retired_at === null).length, 1);
});
