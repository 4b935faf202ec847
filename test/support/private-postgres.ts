import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { freePort } from "./cis2-server.ts";

/**
 * A PostgreSQL server of the test's own, from the machine's PostgreSQL binaries, that the test
 * may stop, restart or kill without disturbing the database other tests share. PostgreSQL
 * refuses to run as root, so as root its files belong to, and it runs as, the postgres user.
 */
export type PrivatePostgres = {
  /** A connection string to the database named, as the superuser "postgres". */
  url(database?: string): string;
  stop(): void;
  start(): void;
};

export function postgresBinaries(): string {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const found = versions
    .map((version) => join(root, version, "bin"))
    .find((bin) => existsSync(join(bin, "initdb")));
  if (!found) throw new Error("PostgreSQL's server binaries are missing: apt-get install postgresql-15");
  return found;
}

export async function startPrivatePostgres(t: TestContext): Promise<PrivatePostgres> {
  const bin = postgresBinaries();
  const folder = mkdtempSync(join(tmpdir(), "careid-postgres-"));
  const data = join(folder, "data");
  const port = await freePort();
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    chmodSync(folder, 0o755);
    execFileSync("chown", ["postgres:postgres", folder]);
  }
  const run = (program: string, args: string[]) =>
    execFileSync(
      asRoot ? "runuser" : join(bin, program),
      asRoot ? ["-u", "postgres", "--", join(bin, program), ...args] : args,
      { stdio: ["ignore", "ignore", "pipe"], cwd: folder },
    );
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync"]);
  const options = `-p ${port} -k ${folder} -c listen_addresses=127.0.0.1`;
  const start = () => run("pg_ctl", ["-D", data, "-o", options, "-l", join(folder, "log"), "-w", "start"]);
  const stop = () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
  start();
  t.after(() => {
    try {
      stop();
    } catch {
      // already stopped by the test
    }
    rmSync(folder, { recursive: true, force: true });
  });
  return {
    url: (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`,
    stop,
    start,
  };
}
