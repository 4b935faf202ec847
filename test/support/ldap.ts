import { execFile } from "node:child_process";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import pino from "pino";
import { operatorActor } from "../../src/audit/actor.ts";
import { type LdapServer, type LdapServerOptions, startLdapServer } from "../../src/directory/ldap/server.ts";
import { type CodeLists, readCodeLists } from "../../src/rbac/code-lists.ts";
import { seedDemo } from "../../src/seed/demo.ts";
import type { Store } from "../../src/store/database.ts";
import { assertCategoryReady } from "./prerequisites.ts";
import { testStore } from "./test-store.ts";

/** A demo directory served over LDAP on a free port, stopped when the test ends. */
export async function demoLdapServer(
  t: TestContext,
  options: Partial<LdapServerOptions> = {},
): Promise<{ server: LdapServer; store: Store; lists: CodeLists }> {
  const store = await testStore(t);
  await seedDemo(store.db, operatorActor());
  const lists = await readCodeLists(store.db);
  const server = await startLdapServer({
    db: store.db,
    lists,
    host: "127.0.0.1",
    port: 0,
    anonymous: true,
    log: pino({ level: "silent" }),
    ...options,
  });
  t.after(() => server.close());
  return { server, store, lists };
}

export type LdifEntry = { dn: string; attributes: Record<string, string[]> };

const run = promisify(execFile);

/**
 * Runs Debian's ldapsearch; returns its exit code and the entries it printed, attribute names
 * in lower case so two servers' answers compare as LDAP compares them.
 */
export async function ldapsearch(
  url: string,
  base: string,
  args: string[],
): Promise<{ code: number; entries: LdifEntry[]; stderr: string; stdout: string }> {
  assertCategoryReady("ldap");
  try {
    const { stdout, stderr } = await run(
      "ldapsearch",
      ["-x", "-LLL", "-o", "ldif-wrap=no", "-H", url, "-b", base, ...args],
      {
        timeout: 20_000,
      },
    );
    return { code: 0, entries: parseLdif(stdout), stderr, stdout };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === "number" ? failure.code : -1,
      entries: parseLdif(failure.stdout ?? ""),
      stderr: failure.stderr ?? "",
      stdout: failure.stdout ?? "",
    };
  }
}

export function parseLdif(text: string): LdifEntry[] {
  const entries: LdifEntry[] = [];
  const unfolded = text.replace(/\r?\n /g, "");
  for (const block of unfolded.split(/\n\s*\n/)) {
    const lines = block.split("\n").filter((line) => line && !line.startsWith("#"));
    if (lines.length === 0) continue;
    let dn = "";
    const attributes: Record<string, string[]> = {};
    for (const line of lines) {
      const match = /^([^:]+)(::?) ?(.*)$/.exec(line);
      if (!match) continue;
      const [, name = "", separator, raw = ""] = match;
      const value = separator === "::" ? Buffer.from(raw, "base64").toString("utf8") : raw;
      if (name.toLowerCase() === "dn") dn = value;
      else attributes[name.toLowerCase()] = [...(attributes[name.toLowerCase()] ?? []), value];
    }
    entries.push({ dn, attributes });
  }
  return entries;
}
