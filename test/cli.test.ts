import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { test } from "node:test";
import { eventHash, keyedChain } from "../src/audit/chain.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { type Db, openStore } from "../src/store/database.ts";
import { rewriteAuditLog } from "./support/audit-tamper.ts";
import { onPostgres, testMasterKey, testStore, withDatabase } from "./support/test-store.ts";

const main = new URL("../src/main.ts", import.meta.url).pathname;

type Run = { code: number | null; signal: string | null; stdout: string; stderr: string };

function start(
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<Run>; output: () => string } {
  const child = spawn(process.execPath, [main, ...args], {
    // Any free LDAP port, so a server under test never clashes with one already on 1389.
    env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn", CAREID_LDAP_PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => (stdout += chunk));
  child.stderr?.on("data", (chunk) => (stderr += chunk));
  const done = new Promise<Run>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done, output: () => stdout };
}

function careid(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return start(args, env).done;
}

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), "careid-cli-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until(condition: () => boolean, what: string, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("help lists every command and each command has its own help", async () => {
  const help = await careid(["--help"]);
  assert.equal(help.code, 0);
  for (const command of ["serve", "migrate", "seed demo", "seed synthetic", "audit verify", "people add"]) {
    assert.match(help.stdout, new RegExp(`careid ${command}`));
  }
  assert.match(help.stdout, /CAREID_MASTER_KEY/);
  const synthetic = await careid(["seed", "synthetic", "--help"]);
  assert.equal(synthetic.code, 0);
  assert.match(synthetic.stdout, /--people/);
  const unknown = await careid(["frobnicate"]);
  assert.equal(unknown.code, 2);
  const badOption = await careid(["audit", "verify", "--bogus"]);
  assert.equal(badOption.code, 2);
  assert.match(badOption.stderr, /bogus/);
});

test("commands of three words run: an LDAP service account added is then listed", async (t) => {
  const env = { CAREID_DATA_DIR: dataDir(t) };
  const added = await careid(["ldap", "accounts", "add", "--name", "gp-system"], env);
  assert.equal(added.code, 0, added.stderr);
  const listed = await careid(["ldap", "accounts", "list"], env);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /gp-system/);
});

test("bad configuration is refused with a message for each bad value", async (t) => {
  const run = await careid(["migrate"], { CAREID_DATA_DIR: dataDir(t), PORT: "abc", LOG_LEVEL: "loud" });
  assert.equal(run.code, 3);
  assert.match(run.stderr, /PORT must be a whole number/);
  assert.match(run.stderr, /LOG_LEVEL must be one of/);
});

test("people add loads a whole file or nothing, and the operator's changes are audited", async (t) => {
  const dir = dataDir(t);
  const good = {
    title: "Mrs",
    givenName: "Rita",
    familyName: "Manager",
    identityAssuranceLevel: 3,
    identityEvidence: { method: "face-to-face", checkedBy: "bootstrap" },
    niNumber: "AB123456C",
  };
  assert.equal((await careid(["seed", "demo"], { CAREID_DATA_DIR: dir })).code, 0);
  const file = join(dir, "people.json");
  writeFileSync(
    file,
    JSON.stringify([
      good,
      {
        givenName: "Bad",
        familyName: "Entry",
        positions: [{ odsCode: "RZZ", jobRole: "R9999", startDate: "2024-01-01" }],
      },
    ]),
  );
  const refused = await careid(["people", "add", "--file", file], { CAREID_DATA_DIR: dir });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /Refused: nothing was changed/);
  assert.match(refused.stderr, /people\[1\]\.positions\[0\]\.jobRole/);

  writeFileSync(
    file,
    JSON.stringify({ ...good, positions: [{ odsCode: "RZZ", jobRole: "R5080", startDate: "2024-01-01" }] }),
  );
  const added = await careid(["people", "add", "--file", file], { CAREID_DATA_DIR: dir });
  assert.equal(added.code, 0, added.stderr);
  const [{ person, positions }] = JSON.parse(added.stdout);
  assert.match(person.uuid, /^\d{12}$/);
  assert.equal(positions[0].jobRole.code, "S0080:G0450:R5080");

  const store = await openStore({ dataDir: dir, purpose: "test" });
  try {
    const nobody = await store.db
      .selectFrom("people")
      .select("uuid")
      .where("family_name", "=", "Entry")
      .execute();
    assert.equal(nobody.length, 0);
    const events = await store.db
      .selectFrom("audit_events")
      .select(["action", "actor_kind", "source"])
      .where("subject_id", "in", [person.uuid, positions[0].roleProfileId])
      .orderBy("seq")
      .execute();
    assert.deepEqual(events, [
      { action: "person.created", actor_kind: "operator", source: "CLI" },
      { action: "position.granted", actor_kind: "operator", source: "CLI" },
    ]);
  } finally {
    await store.close();
  }
});

test("a command run while the server holds the embedded database is refused, not let in", async (t) => {
  const dir = dataDir(t);
  const server = start(["serve", "--demo"], { CAREID_DATA_DIR: dir, PORT: "0" });
  t.after(() => server.child.kill("SIGKILL"));
  await until(() => server.output().includes("Press Ctrl+C to stop"), "the server to start");
  const refused = await careid(["audit", "verify"], { CAREID_DATA_DIR: dir });
  assert.equal(refused.code, 3);
  assert.match(refused.stderr, /in use by another careid process \(pid \d+, "serve"/);
  server.child.kill("SIGTERM");
  const stopped = await server.done;
  assert.equal(stopped.code, 0, "the server shuts down gracefully");
  const verified = await careid(["audit", "verify"], { CAREID_DATA_DIR: dir });
  assert.equal(verified.code, 0, verified.stderr);
  assert.match(verified.stdout, /The audit log is intact/);
});

test("a process killed mid-write leaves every committed batch intact and the database usable", async (t) => {
  const dir = dataDir(t);
  const loader = start(["seed", "synthetic", "--people", "500000"], { CAREID_DATA_DIR: dir });
  t.after(() => loader.child.kill("SIGKILL"));
  await until(() => /people 100,000\//.test(loader.output()), "two committed batches", 120);
  loader.child.kill("SIGKILL");
  const killed = await loader.done;
  assert.equal(killed.signal, "SIGKILL");

  const verified = await careid(["audit", "verify"], { CAREID_DATA_DIR: dir });
  assert.equal(verified.code, 0, verified.stderr);
  const store = await openStore({ dataDir: dir, purpose: "test" });
  try {
    const people = await store.db
      .selectFrom("people")
      .select((eb) => eb.fn.countAll<number>().as("count"))
      .executeTakeFirstOrThrow();
    const batches = await store.db
      .selectFrom("audit_events")
      .select("after")
      .where("action", "=", "seed.synthetic.people")
      .execute();
    const recorded = batches.reduce((sum, batch) => sum + (batch.after as { people: number }).people, 0);
    assert.ok(recorded >= 100_000, "the batches reported before the kill were committed");
    assert.equal(
      Number(people.count),
      recorded,
      "every committed batch is whole, and nothing else was written",
    );
  } finally {
    await store.close();
  }
});

test("people close needs a reason, then closes the profile and ends its positions; people reopen reopens it once", async (t) => {
  const dir = dataDir(t);
  assert.equal((await careid(["seed", "demo"], { CAREID_DATA_DIR: dir })).code, 0);
  const store = await openStore({ dataDir: dir, purpose: "test" });
  const person = await store.db
    .selectFrom("people")
    .select("uuid")
    .where("family_name", "=", "O'Connell")
    .executeTakeFirstOrThrow();
  await store.close();
  const refused = await careid(["people", "close", "--uuid", person.uuid], { CAREID_DATA_DIR: dir });
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /reason/);
  const closed = await careid(["people", "close", "--uuid", person.uuid, "--reason", "left the trust"], {
    CAREID_DATA_DIR: dir,
  });
  assert.equal(closed.code, 0, closed.stderr);
  assert.match(closed.stdout, /1 position\(s\) ended/);
  assert.match(closed.stdout, /0 CIS2 session\(s\) ended; 0 back-channel logout\(s\) queued/);
  const after = await openStore({ dataDir: dir, purpose: "test" });
  try {
    const row = await after.db
      .selectFrom("people")
      .select("status")
      .where("uuid", "=", person.uuid)
      .executeTakeFirstOrThrow();
    assert.equal(row.status, "closed");
    const current = await after.db
      .selectFrom("positions")
      .select("status")
      .where("uuid", "=", person.uuid)
      .execute();
    assert.ok(current.every((position) => position.status === "ended"));
  } finally {
    await after.close();
  }
  const reopen = ["people", "reopen", "--uuid", person.uuid, "--reason", "returned"];
  const reopened = await careid(reopen, { CAREID_DATA_DIR: dir });
  assert.equal(reopened.code, 0, reopened.stderr);
  assert.match(reopened.stdout, new RegExp(`Reopened ${person.uuid}`));
  const twice = await careid(reopen, { CAREID_DATA_DIR: dir });
  assert.equal(twice.code, 2);
  assert.match(twice.stderr, /Refused: nothing was changed\.\n {2}uuid: profile \d{12} is not closed/);
});

test("serve refuses to start with a tampered FIDO metadata BLOB, naming the file", async (t) => {
  const { issue, makeRoot, metadataBlob, writeFiles } = await import("./support/attestation-ca.ts");
  const root = await makeRoot("Test MDS root");
  const blob = await metadataBlob(await issue(root, "Test MDS signer"), {
    no: 1,
    nextUpdate: "2099-01-01",
    entries: [],
  });
  const [header, , signature] = blob.split(".") as [string, string, string];
  const tampered = `${header}.${Buffer.from('{"no":2,"nextUpdate":"2099-01-01","entries":[]}').toString("base64url")}.${signature}`;
  const files = writeFiles({ "mds.jwt": tampered, "root.pem": root.certificate.toString("pem") });
  const run = await careid(["serve"], {
    CAREID_DATA_DIR: dataDir(t),
    PORT: "0",
    CAREID_WEBAUTHN_MDS_FILE: files["mds.jwt"] as string,
    CAREID_WEBAUTHN_MDS_ROOT: files["root.pem"] as string,
  });
  assert.equal(run.code, 3);
  assert.match(run.stderr, /CAREID_WEBAUTHN_MDS_FILE .*mds\.jwt has a signature that does not verify/);
});

test("authenticators unlock refuses a malformed UUID and a person without an authenticator app", async (t) => {
  const dir = dataDir(t);
  assert.equal((await careid(["seed", "demo"], { CAREID_DATA_DIR: dir })).code, 0);
  const malformed = await careid(["authenticators", "unlock", "--user", "nobody"], { CAREID_DATA_DIR: dir });
  assert.equal(malformed.code, 2);
  assert.match(malformed.stderr, /12-digit Care Identity UUID/);
  const none = await careid(["authenticators", "unlock", "--user", "555000000010"], { CAREID_DATA_DIR: dir });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /555000000010 has no authenticator app/);
});

test("audit verify names a rewrite made without the master key, and says when the key is wrong or missing", async (t) => {
  const dir = dataDir(t);
  const env: Record<string, string> = {
    CAREID_DATA_DIR: dir,
    CAREID_MASTER_KEY: testMasterKey.toString("hex"),
  };
  // On PostgreSQL a test database of its own; embedded, the data directory, opened between commands.
  let tamper: (work: (db: Db) => Promise<void>) => Promise<void>;
  if (onPostgres) {
    const store = await testStore(t);
    env.DATABASE_URL = withDatabase(
      process.env.TEST_DATABASE_URL ?? "",
      new URL(store.location).pathname.slice(1),
    );
    tamper = (work) => work(store.db);
  } else {
    tamper = async (work) => {
      const store = withAuditKey(await openStore({ dataDir: dir, purpose: "test" }), testMasterKey);
      try {
        await work(store.db);
      } finally {
        await store.close();
      }
    };
  }
  assert.equal((await careid(["seed", "demo"], env)).code, 0);
  const intact = await careid(["audit", "verify"], env);
  assert.equal(intact.code, 0, intact.stderr);
  assert.match(intact.stdout, /The audit log is intact: \d+ events verified\./);

  await tamper((db) => rewriteAuditLog(db, { from: 3, link: eventHash, version: keyedChain }));
  const rewritten = await careid(["audit", "verify"], env);
  assert.equal(rewritten.code, 1);
  assert.match(
    rewritten.stderr,
    /^event 3\.\.\d+: edited: events 3\.\.\d+ were changed after they were written/,
  );
  assert.match(rewritten.stdout, /The audit log has 1 break\(s\)\./);

  const wrongKey = await careid(["audit", "verify"], { ...env, CAREID_MASTER_KEY: "11".repeat(32) });
  assert.equal(wrongKey.code, 1);
  assert.equal(wrongKey.stderr.trim().split("\n").length, 1, "one line, not one per event");
  assert.match(wrongKey.stderr, /wrong-key: none of the \d+ keyed events matches this master key/);
  assert.match(wrongKey.stdout, /cannot be verified with this master key/);

  const noKey = await careid(["audit", "verify"], {
    ...env,
    CAREID_DATA_DIR: dataDir(t),
    CAREID_MASTER_KEY: "",
  });
  assert.equal(noKey.code, 3);
  assert.match(noKey.stderr, /verified with the master key that wrote it: set CAREID_MASTER_KEY/);
});

/** A database for a process under test: a PostgreSQL one of its own on PostgreSQL runs, else none (embedded). */
async function databaseFor(t: TestContext): Promise<string> {
  if (!onPostgres) return "";
  const store = await testStore(t);
  return withDatabase(process.env.TEST_DATABASE_URL as string, new URL(store.location).pathname.slice(1));
}

test("on PostgreSQL, serve refuses to start without a master key, in one line, before touching the database", async (t) => {
  const dir = dataDir(t);
  // Nothing listens on port 1: the refusal must come before any connection is tried.
  const databaseUrl = (await databaseFor(t)) || "postgres://careid@127.0.0.1:1/careid";
  const refused = await careid(["serve"], { CAREID_DATA_DIR: dir, PORT: "0", DATABASE_URL: databaseUrl });
  assert.equal(refused.code, 3);
  assert.equal(refused.stderr.trim().split("\n").length, 1, refused.stderr);
  assert.match(
    refused.stderr,
    /CAREID_MASTER_KEY \(or CAREID_MASTER_KEY_FILE\) is required with DATABASE_URL/,
  );
  assert.equal(existsSync(join(dir, "master.key")), false, "no key is made in the data directory");

  const keyInside = join(dir, "master.key.txt");
  writeFileSync(keyInside, "ab".repeat(32));
  const inside = await careid(["serve"], {
    CAREID_DATA_DIR: dir,
    PORT: "0",
    DATABASE_URL: databaseUrl,
    CAREID_MASTER_KEY_FILE: keyInside,
  });
  assert.equal(inside.code, 3);
  assert.match(inside.stderr, /lies inside CAREID_DATA_DIR/);
  assert.doesNotMatch(inside.stderr, /abab/, "the key itself is never printed");
});

test("serve starts with its key from CAREID_MASTER_KEY_FILE, and makes none of its own", async (t) => {
  const dir = dataDir(t);
  const secrets = dataDir(t);
  const keyFile = join(secrets, "careid-master-key");
  writeFileSync(keyFile, Buffer.alloc(32, 9).toString("base64"), { mode: 0o600 });
  const server = start(["serve", "--demo"], {
    CAREID_DATA_DIR: dir,
    PORT: "0",
    DATABASE_URL: await databaseFor(t),
    CAREID_MASTER_KEY_FILE: keyFile,
  });
  t.after(() => server.child.kill("SIGKILL"));
  await until(() => server.output().includes("Press Ctrl+C to stop"), "the server to start");
  server.child.kill("SIGTERM");
  assert.equal((await server.done).code, 0);
  assert.equal(existsSync(join(dir, "master.key")), false);
});

test("demo users are listed right after seed demo, and a database that had people gets no demo passwords", async (t) => {
  const dir = dataDir(t);
  const databaseUrl = await databaseFor(t);
  const env = { CAREID_DATA_DIR: dir, DATABASE_URL: databaseUrl, CAREID_MASTER_KEY: "cd".repeat(32) };
  const seeded = await careid(["seed", "demo"], env);
  assert.equal(seeded.code, 0, seeded.stderr);
  const listed = await careid(["demo", "users", "--json"], env);
  assert.equal(listed.code, 0, listed.stderr);
  const users: {
    email: string;
    password: string;
    positions: unknown[];
    authenticators: { kind: string; secret?: string }[];
  }[] = JSON.parse(listed.stdout);
  const margaret = users.find((user) => user.email === "margaret.oconnell@nhs.net");
  assert.ok(margaret, "the demo's people are there before any serve");
  assert.equal(margaret.password, "care-identity-demo");
  assert.ok(margaret.positions.length > 0);
  const kwame = users.find((user) => user.email === "kwame.boateng@nhs.net");
  assert.deepEqual(
    kwame?.authenticators.map((held) => [held.kind, held.secret]),
    [["Authenticator app", "W552J4VDCDTQWBBEOTQTRHVOCAWSHMOA"]],
    "a demo person holds the authenticator app from the start, with its published secret",
  );

  const again = await careid(["seed", "demo"], env);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already has people/);
  const store = await openStore(databaseUrl ? { databaseUrl } : { dataDir: dir, purpose: "test" });
  try {
    const people = await store.db
      .selectFrom("people")
      .select("uuid")
      .where("status", "=", "active")
      .execute();
    const passwords = await store.db.selectFrom("passwords").select("uuid").execute();
    assert.equal(passwords.length, people.length, "one password per demo person, set once");
    const client = await store.db
      .selectFrom("oidc_clients")
      .select("client_id")
      .where("client_id", "=", "999999999999.apps.national")
      .execute();
    assert.equal(client.length, 1, "the example app is registered");
  } finally {
    await store.close();
  }
});
