import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TestContext } from "node:test";
import pg from "pg";
import { systemActor } from "../../src/audit/actor.ts";
import { withAuditKey } from "../../src/audit/chain-key.ts";
import { readCodeListFiles, syncCodeLists } from "../../src/rbac/code-lists.ts";
import { openStore, type Store } from "../../src/store/database.ts";
import { migrate, migrationNames } from "../../src/store/migrate.ts";

/**
 * A freshly migrated database of its own for one test: an in-memory PGlite cloned from a
 * migrated image, or, when TEST_DATABASE_URL is set, a PostgreSQL database created from a
 * migrated template. Closed and dropped when the test ends.
 */
export async function testStore(t: TestContext): Promise<Store> {
  const store = process.env.TEST_DATABASE_URL
    ? (await postgresStore(process.env.TEST_DATABASE_URL)).store
    : await pgliteStore();
  t.after(() => store.close());
  return withAuditKey(store, testMasterKey);
}

/**
 * The master key whose audit key signs every test database's chain. Fixed, because the migrated
 * PostgreSQL template and its events outlive the process that made them.
 */
export const testMasterKey = Buffer.alloc(32, 0x5a);

export const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

/**
 * A migrated database of its own for a test that also runs the careid command on it: on
 * PostgreSQL, the test's database and its URL, for the command's DATABASE_URL; embedded, a data
 * directory, which one process may hold at a time (open() it, close it before the command runs).
 */
export async function databaseForCommands(
  t: TestContext,
  dataDir: string,
): Promise<{ open(): Promise<Store>; environment: Record<string, string>; shared: boolean }> {
  if (process.env.TEST_DATABASE_URL) {
    const { store, databaseUrl } = await postgresStore(process.env.TEST_DATABASE_URL);
    t.after(() => store.close());
    return {
      open: async () => withAuditKey(store, testMasterKey),
      environment: { ...keyEnvironment, DATABASE_URL: databaseUrl },
      shared: true,
    };
  }
  const first = await openStore({ dataDir, purpose: "test" });
  await prepare(first);
  await first.close();
  return {
    open: async () => withAuditKey(await openStore({ dataDir, purpose: "test" }), testMasterKey),
    environment: { ...keyEnvironment, DATABASE_URL: "", CAREID_DATA_DIR: dataDir },
    shared: false,
  };
}

/** The careid command seals and keys the audit chain with the same master key as the tests. */
const keyEnvironment = { CAREID_MASTER_KEY: testMasterKey.toString("hex") };

async function prepare(unkeyed: Store): Promise<void> {
  const store = withAuditKey(unkeyed, testMasterKey);
  await migrate(store);
  await syncCodeLists(store.db, systemActor("test-setup"));
}

let pgliteImage: Promise<Blob> | undefined;

async function pgliteStore(): Promise<Store> {
  pgliteImage ??= (async () => {
    const template = await openStore({ memory: true });
    await prepare(template);
    const image = await dumpOf(template);
    await template.close();
    return image;
  })();
  return openStore({ memory: true, loadDataDir: await pgliteImage });
}

async function dumpOf(store: Store): Promise<Blob> {
  if (!store.dump) throw new Error("this store cannot be dumped");
  return store.dump();
}

/** Names the template by the schema and reference data it holds, so a change makes a new one. */
function templateName(): string {
  const hash = createHash("sha256");
  for (const name of migrationNames())
    hash.update(readFileSync(new URL(`../../src/store/migrations/${name}`, import.meta.url)));
  hash.update(readCodeListFiles().digest);
  return `careid_template_${hash.digest("hex").slice(0, 12)}`;
}

let counter = 0;

async function postgresStore(adminUrl: string): Promise<{ store: Store; databaseUrl: string }> {
  const template = templateName();
  const name = `careid_test_${process.pid}_${++counter}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query("SELECT pg_advisory_lock(7315002)");
    const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [template]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE ${template}`);
      const setup = await openStore({ databaseUrl: withDatabase(adminUrl, template), poolSize: 1 });
      await prepare(setup);
      await setup.close();
    }
    await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  } finally {
    await admin.query("SELECT pg_advisory_unlock(7315002)");
    await admin.end();
  }
  const databaseUrl = withDatabase(adminUrl, name);
  const store = await openStore({ databaseUrl, poolSize: 4 });
  const close = store.close;
  const closing = {
    ...store,
    async close() {
      await close();
      const dropper = new pg.Client({ connectionString: adminUrl });
      await dropper.connect();
      // Not WITH (FORCE): the pool's end() resolves before its sessions have exited, and forcing
      // them out makes an idle client emit an uncaught error. PostgreSQL waits for them instead.
      await dropper.query(`DROP DATABASE IF EXISTS ${name}`);
      await dropper.end();
    },
  };
  return { store: closing, databaseUrl };
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
