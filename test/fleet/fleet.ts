import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { realmPath } from "../../src/config.ts";

/**
 * The fleet tests run the deploy/ scripts as an operator would: PostgreSQL clusters, Patroni and
 * HAProxy from Debian's packages, and `careid serve` nodes as processes, all on 127.0.0.1. They
 * need root (PostgreSQL runs as the postgres user) and fail at once, naming what is missing,
 * rather than skip.
 */
const run = promisify(execFile);
const repo = new URL("../../", import.meta.url).pathname;
const node = join(repo, "node_modules/.bin/node");

const needs = [
  "/usr/lib/postgresql/15/bin/postgres",
  "/usr/bin/patroni",
  "/usr/bin/etcd",
  "/usr/sbin/haproxy",
  "/usr/bin/envsubst",
  "/usr/sbin/runuser",
];

export function checkFleetTools(): void {
  const missing = needs.filter((path) => !existsSync(path));
  assert.deepEqual(
    missing,
    [],
    "the fleet tests need Debian's postgresql-15, patroni, etcd-server, haproxy and gettext-base",
  );
  assert.equal(process.getuid?.(), 0, "the fleet tests run as root (PostgreSQL runs as postgres)");
}

/** Runs a deploy/ script; its output, or a failure with its standard error. */
export async function deploy(script: string, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await run(join(repo, "deploy", script), args, {
    env: { ...process.env, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

export type CommandResult = { code: number; stdout: string; stderr: string };

/** Runs a careid command on the pinned Node.js, as an operator would. */
export async function careid(args: string[], env: Record<string, string>): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(node, ["src/main.ts", ...args], {
      cwd: repo,
      env: { ...process.env, LOG_LEVEL: "warn", ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

const cleanups = new WeakMap<TestContext, (() => unknown)[]>();

/**
 * Undoes what a test started, last first (a cluster is stopped before its directory goes), each
 * step whatever the others did.
 */
export function onCleanup(t: TestContext, work: () => unknown): void {
  let list = cleanups.get(t);
  if (!list) {
    const steps: (() => unknown)[] = [];
    list = steps;
    cleanups.set(t, steps);
    t.after(async () => {
      for (const step of steps.reverse())
        await Promise.resolve()
          .then(step)
          .catch(() => {});
    });
  }
  list.push(work);
}

/** A directory for one test's data and logs; CAREID_FLEET_KEEP=1 keeps it, to read the logs. */
export function temporaryDirectory(t: TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `careid-${prefix}-`));
  if (process.env.CAREID_FLEET_KEEP === "1") t.diagnostic(`kept: ${dir}`);
  else onCleanup(t, () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function readEnvFile(path: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = /^([A-Z_]+)='?(.*?)'?$/.exec(line);
    if (match?.[1]) values[match[1]] = match[2] ?? "";
  }
  return values;
}

export type Database = {
  dir: string;
  url: string;
  ownerUrl: string;
  adminUrl: string;
  readUrl?: string;
};

/** One PostgreSQL cluster with WAL archiving (deploy/postgres.sh), stopped when the test ends. */
export async function postgresCluster(t: TestContext, port: number): Promise<Database> {
  const dir = temporaryDirectory(t, "postgres");
  onCleanup(t, () => deploy("postgres.sh", ["down", dir]));
  await deploy("postgres.sh", ["up", dir, String(port)]);
  return databaseIn(dir);
}

export function databaseIn(dir: string): Database {
  const urls = readEnvFile(join(dir, "urls.env"));
  return {
    dir,
    url: urls.DATABASE_URL ?? "",
    ownerUrl: urls.DATABASE_OWNER_URL ?? "",
    adminUrl: urls.DATABASE_ADMIN_URL ?? "",
    readUrl: urls.DATABASE_READ_URL,
  };
}

export type Fleet = {
  dir: string;
  /** The load balancer's origin and the issuer every node names. */
  origin: string;
  issuer: string;
  masterKey: string;
  nodeOrigin(k: number): string;
  nodePid(k: number): number;
  /** The environment a careid command needs to work on the fleet's database. */
  env: Record<string, string>;
};

/** `careid serve` nodes behind HAProxy (deploy/nodes.sh), stopped when the test ends. */
export async function startFleet(
  t: TestContext,
  database: Database,
  options: { nodes: number; port: number; demo?: boolean; masterKey?: string },
): Promise<Fleet> {
  const dir = temporaryDirectory(t, "nodes");
  onCleanup(t, () => deploy("nodes.sh", ["down", dir]));
  await deploy(
    "nodes.sh",
    [
      "up",
      dir,
      "--nodes",
      String(options.nodes),
      "--port",
      String(options.port),
      ...(options.demo ? ["--demo"] : []),
    ],
    {
      DATABASE_URL: database.url,
      DATABASE_OWNER_URL: database.ownerUrl,
      ...(options.masterKey ? { CAREID_MASTER_KEY: options.masterKey } : {}),
    },
  );
  const settings = readEnvFile(join(dir, "nodes.env"));
  const origin = `http://127.0.0.1:${options.port}`;
  assert.equal(settings.CAREID_ISSUER, `${origin}${realmPath}`);
  return {
    dir,
    origin,
    issuer: `${origin}${realmPath}`,
    masterKey: settings.CAREID_MASTER_KEY ?? "",
    nodeOrigin: (k) => `http://127.0.0.1:${options.port + k}`,
    nodePid: (k) => Number(readFileSync(join(dir, `node-${k}.pid`), "utf8").trim()),
    env: {
      DATABASE_URL: database.url,
      CAREID_MASTER_KEY: settings.CAREID_MASTER_KEY ?? "",
      CAREID_ISSUER: `${origin}${realmPath}`,
    },
  };
}

/** `careid audit verify` on the fleet's database: exits 0 when the hash chain is whole. */
export async function assertAuditIntact(env: Record<string, string>): Promise<void> {
  const verified = await careid(["audit", "verify"], env);
  assert.equal(verified.code, 0, `careid audit verify: ${verified.stdout}${verified.stderr}`);
  assert.match(verified.stdout, /The audit log is intact/);
}

export async function eventually<T>(
  what: string,
  seconds: number,
  attempt: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const result = await attempt().catch(() => undefined);
    if (result !== undefined) return result;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${seconds} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
