import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { type TestContext, test } from "node:test";
import { ConfigError, loadConfig } from "./config.ts";

const hexKey = "3f9a1c7e5b2d4f60a8c9e1b3d5f7092b4c6e8a0d2f4b6c8e0a2c4e6f8091b3d5";
const base64Key = Buffer.alloc(32, 7).toString("base64");

/** Writes a config file in a temporary directory removed when the test ends. */
function configFile(t: TestContext, text: string): string {
  const directory = mkdtempSync(join(tmpdir(), "careid-config-"));
  t.after(() => rmSync(directory, { recursive: true, force: true }));
  const path = join(directory, "careid.json");
  writeFileSync(path, text);
  return path;
}

/** The ConfigError that loading this environment throws. */
function configError(environment: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(environment);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error;
  }
  assert.fail("the configuration was accepted");
}

/** The variable each problem names, taken from the start of its message. */
function variablesNamed(error: ConfigError): string[] {
  return error.problems.map((problem) => problem.split(" ")[0] ?? "");
}

test("with nothing set, every setting has its default", () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.masterKey, undefined);
  assert.equal(config.logLevel, "info");
  assert.ok(isAbsolute(config.dataDir), config.dataDir);
  assert.ok(config.dataDir.endsWith("/data"), config.dataDir);
});

test("good values are parsed", () => {
  const config = loadConfig({
    PORT: "8443",
    HOST: "0.0.0.0",
    DATABASE_URL: "postgresql://careid@db.example:5432/careid",
    CAREID_DATA_DIR: "/var/lib/careid",
    LOG_LEVEL: "debug",
  });
  assert.equal(config.port, 8443);
  assert.equal(config.host, "0.0.0.0");
  assert.equal(config.databaseUrl, "postgresql://careid@db.example:5432/careid");
  assert.equal(config.dataDir, "/var/lib/careid");
  assert.equal(config.logLevel, "debug");
});

test("every bad value is reported at once, each naming its variable", () => {
  const error = configError({
    PORT: "abc",
    DATABASE_URL: "mysql://x",
    CAREID_MASTER_KEY: "short",
    LOG_LEVEL: "loud",
  });
  assert.deepEqual(variablesNamed(error), ["PORT", "DATABASE_URL", "CAREID_MASTER_KEY", "LOG_LEVEL"]);
  for (const variable of ["PORT", "DATABASE_URL", "CAREID_MASTER_KEY", "LOG_LEVEL"]) {
    assert.match(error.message, new RegExp(`- ${variable} `));
  }
});

test("a port must be a whole number up to 65535, 0 picking a free one", () => {
  for (const port of ["abc", "70000", "65536", "80.5", "-1"]) {
    assert.deepEqual(variablesNamed(configError({ PORT: port })), ["PORT"], port);
  }
  assert.equal(loadConfig({ PORT: "65535" }).port, 65535);
  assert.equal(loadConfig({ PORT: "0" }).port, 0);
});

test("card certificates last days, or for a test a few seconds that override the days", () => {
  assert.equal(loadConfig({}).cardCertificateDays, 1095);
  assert.equal(loadConfig({ CAREID_CARD_CERTIFICATE_DAYS: "730" }).cardCertificateDays, 730);
  const seconds = loadConfig({ CAREID_CARD_CERTIFICATE_DAYS: "730", CAREID_CARD_CERTIFICATE_SECONDS: "30" });
  assert.equal(Math.round(seconds.cardCertificateDays * 86_400_000), 30_000);
  for (const value of ["4", "86401", "2.5", "soon"])
    assert.deepEqual(
      variablesNamed(configError({ CAREID_CARD_CERTIFICATE_SECONDS: value })),
      ["CAREID_CARD_CERTIFICATE_SECONDS"],
      value,
    );
});

test("a master key of 64 hex digits or base64 gives 32 bytes", () => {
  const fromHex = loadConfig({ CAREID_MASTER_KEY: hexKey }).masterKey;
  assert.ok(fromHex instanceof Buffer);
  assert.equal(fromHex.length, 32);
  assert.equal(fromHex.toString("hex"), hexKey);
  const fromBase64 = loadConfig({ CAREID_MASTER_KEY: base64Key }).masterKey;
  assert.deepEqual(fromBase64, Buffer.alloc(32, 7));
  assert.deepEqual(variablesNamed(configError({ CAREID_MASTER_KEY: hexKey.slice(2) })), [
    "CAREID_MASTER_KEY",
  ]);
});

test("a config file supplies settings and the environment overrides them", (t) => {
  const path = configFile(
    t,
    JSON.stringify({ PORT: 4000, HOST: "10.0.0.5", LOG_LEVEL: "warn", CAREID_MASTER_KEY: hexKey }),
  );
  const fromFile = loadConfig({ CAREID_CONFIG_FILE: path });
  assert.equal(fromFile.port, 4000);
  assert.equal(fromFile.host, "10.0.0.5");
  assert.equal(fromFile.logLevel, "warn");
  assert.equal(fromFile.masterKey?.toString("hex"), hexKey);

  const overridden = loadConfig({ CAREID_CONFIG_FILE: path, PORT: "5000", LOG_LEVEL: "" });
  assert.equal(overridden.port, 5000);
  assert.equal(overridden.host, "10.0.0.5");
  assert.equal(overridden.logLevel, "warn", "an empty variable does not override the file");
});

test("bad values in a config file are reported like bad variables", (t) => {
  const path = configFile(t, JSON.stringify({ PORT: "70000", LOG_LEVEL: "loud" }));
  assert.deepEqual(variablesNamed(configError({ CAREID_CONFIG_FILE: path })), ["PORT", "LOG_LEVEL"]);
});

test("a config file that is missing, not JSON or not an object is refused", (t) => {
  const missing = join(tmpdir(), "careid-no-such-config.json");
  const notJson = configFile(t, "PORT=4000\n");
  const notObject = configFile(t, "[4000]");
  for (const path of [missing, notJson, notObject]) {
    const error = configError({ CAREID_CONFIG_FILE: path });
    assert.equal(error.problems.length, 1);
    assert.ok(error.problems[0]?.startsWith(`CAREID_CONFIG_FILE ${path} `), error.problems[0]);
  }
});

test("no error message repeats the master key, even in part", (t) => {
  const fragment = (key: string) => key.slice(0, 6);
  const wrongLength = hexKey.slice(0, 62);
  const shortBase64 = Buffer.alloc(16, 9).toString("base64");
  const messages = [
    configError({ CAREID_MASTER_KEY: wrongLength, PORT: "abc" }).message,
    configError({ CAREID_MASTER_KEY: shortBase64 }).message,
    // A file written by hand with the key in single quotes, or unquoted: JSON.parse's own
    // message quotes the text around the fault.
    configError({ CAREID_CONFIG_FILE: configFile(t, `{"CAREID_MASTER_KEY": '${hexKey}'}`) }).message,
    configError({ CAREID_CONFIG_FILE: configFile(t, `{"CAREID_MASTER_KEY": ${base64Key}}`) }).message,
  ];
  for (const [message, key] of [
    [messages[0], wrongLength],
    [messages[1], shortBase64],
    [messages[2], hexKey],
    [messages[3], base64Key],
  ] as const) {
    assert.ok(message);
    assert.ok(!message.includes(fragment(key)), `the message shows part of the key: ${message}`);
  }
  assert.match(messages[2] ?? "", /not valid JSON/);
});

test("the CIM API takes CIM's own client by default, or the clients listed", () => {
  assert.deepEqual(loadConfig({}).cimApiClients, ["care-identity-management"]);
  assert.deepEqual(loadConfig({ CAREID_CIM_CLIENT_ID: "cim.apps.local" }).cimApiClients, ["cim.apps.local"]);
  assert.deepEqual(
    loadConfig({ CAREID_CIM_API_CLIENTS: "care-identity-management, 123456789012.apps.supplier" })
      .cimApiClients,
    ["care-identity-management", "123456789012.apps.supplier"],
  );
  assert.deepEqual(variablesNamed(configError({ CAREID_CIM_API_CLIENTS: " , " })), [
    "CAREID_CIM_API_CLIENTS",
  ]);
});

test("the master key may come from a file, but not from both places, nor from the data directory on PostgreSQL", (t) => {
  const file = configFile(t, `${hexKey}\n`);
  assert.deepEqual(loadConfig({ CAREID_MASTER_KEY_FILE: file }).masterKey, Buffer.from(hexKey, "hex"));
  assert.deepEqual(
    loadConfig({ CAREID_MASTER_KEY_FILE: configFile(t, base64Key) }).masterKey,
    Buffer.from(base64Key, "base64"),
  );
  const both = configError({ CAREID_MASTER_KEY: hexKey, CAREID_MASTER_KEY_FILE: file });
  assert.match(both.message, /both set/);
  assert.match(
    configError({ CAREID_MASTER_KEY_FILE: "/nonexistent/key" }).message,
    /cannot be read \(ENOENT\)/,
  );
  const short = configError({ CAREID_MASTER_KEY_FILE: configFile(t, hexKey.slice(4)) });
  assert.match(short.message, /must hold 32 bytes/);
  assert.doesNotMatch(short.message, new RegExp(hexKey.slice(4, 20)));
  const onPostgres = { DATABASE_URL: "postgres://careid@db.example/careid", CAREID_MASTER_KEY_FILE: file };
  assert.match(
    configError({ ...onPostgres, CAREID_DATA_DIR: dirname(file) }).message,
    /^Invalid configuration: CAREID_MASTER_KEY_FILE .* lies inside CAREID_DATA_DIR/,
  );
  assert.ok(loadConfig({ ...onPostgres, CAREID_DATA_DIR: "/var/lib/careid" }).masterKey);
});
