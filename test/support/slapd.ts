import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { assertCategoryReady } from "./prerequisites.ts";

const run = promisify(execFile);
const schema = new URL("../../src/directory/ldap/sds.schema", import.meta.url).pathname;

export type Slapd = { url: string; loadSeconds: number; stop(): Promise<void> };

/**
 * A throwaway OpenLDAP slapd of our own (Debian's package, not its system service): a temp
 * directory with a slapd.conf naming our schema, the LDIF loaded with slapadd, then slapd on a
 * free local port in the foreground, killed by pid when stopped.
 */
export async function startSlapd(ldif: string, options: { ldifIsPath?: boolean } = {}): Promise<Slapd> {
  assertCategoryReady("ldap");
  const dir = mkdtempSync(join(tmpdir(), "careid-slapd-"));
  mkdirSync(join(dir, "db"));
  const config = join(dir, "slapd.conf");
  writeFileSync(
    config,
    [
      "include /etc/ldap/schema/core.schema",
      "include /etc/ldap/schema/cosine.schema",
      "include /etc/ldap/schema/inetorgperson.schema",
      `include ${schema}`,
      `pidfile ${join(dir, "slapd.pid")}`,
      "modulepath /usr/lib/ldap",
      "moduleload back_mdb",
      // As our server: at most 500 entries per search unless the client pages.
      "sizelimit 500",
      "database mdb",
      "maxsize 17179869184",
      'suffix "o=nhs"',
      `directory ${join(dir, "db")}`,
      "index objectClass eq",
      "index uid,uniqueIdentifier,nhsIDCode,nhsMhsPartyKey,sn eq",
      "",
    ].join("\n"),
  );
  const ldifPath = options.ldifIsPath ? ldif : join(dir, "tree.ldif");
  if (!options.ldifIsPath) writeFileSync(ldifPath, ldif);
  const started = performance.now();
  await run("slapadd", ["-q", "-f", config, "-l", ldifPath], { maxBuffer: 64 * 1024 * 1024 });
  const loadSeconds = (performance.now() - started) / 1000;
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const child: ChildProcess = spawn("slapd", ["-f", config, "-h", `${url}/`, "-d", "0"], { stdio: "ignore" });
  await waitUntilServing(url, child);
  return {
    url,
    loadSeconds,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

async function waitUntilServing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slapd exited with code ${child.exitCode}`);
    try {
      await run("ldapsearch", ["-x", "-H", url, "-s", "base", "-b", "", "-LLL", "1.1"], { timeout: 2000 });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill("SIGKILL");
  throw new Error("slapd did not start serving within 20 seconds");
}
