/**
 * npm test's pretest step: makes `npm test` true on a fresh Debian machine with only Node.js and
 * npm. It checks the Debian packages the suite needs (test/support/prerequisites.ts, less the
 * categories CAREID_TEST_SKIP leaves out) and openCryptoki's slot daemon. Run as root, it installs
 * what is missing (one apt-get update) and starts the daemon; run as anyone else, it stops at once,
 * printing the exact commands to run. With TEST_DATABASE_URL set it also checks that PostgreSQL
 * answers there; on embedded PGlite no PostgreSQL is needed.
 *
 *   node scripts/test-prerequisites.ts              (npm run pretest)
 *   node scripts/test-prerequisites.ts --left-out   (npm test's posttest: what the run left out)
 *   node scripts/test-prerequisites.ts --fleet      (npm run test:fleet's pretest: Patroni, etcd, HAProxy)
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import pg from "pg";
import {
  type Category,
  categories,
  fleetNeeds,
  requirementsOf,
  skippedCategories,
  slotDaemonRunning,
} from "../test/support/prerequisites.ts";

/** The folders systemd-tmpfiles makes for openCryptoki's software token; without systemd, we do. */
const slotDaemonFolders = [
  "/var/lock/opencryptoki",
  "/var/lock/opencryptoki/swtok",
  "/var/lib/opencryptoki",
  "/var/lib/opencryptoki/swtok",
  "/var/lib/opencryptoki/swtok/TOK_OBJ",
];

/** openCryptoki's group: a user outside it cannot reach the token. */
const tokenGroup = "pkcs11";

/** slapd's postinst would build and start a system directory; the tests run slapds of their own. */
const slapdPreseed = "slapd slapd/no_configuration boolean true";

/** Which of these Debian packages are not installed, by dpkg's own account. */
export function missingPackages(names: string[]): string[] {
  if (names.length === 0) return [];
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template
  const format = "-f=${Package} ${Status}\\n";
  const query = spawnSync("dpkg-query", ["-W", format, ...names], { encoding: "utf8" });
  if (query.error)
    throw new Error(
      `dpkg-query cannot run (${query.error.message}): the suite needs Debian's packages ${names.join(" ")}`,
    );
  const installed = new Set(
    query.stdout
      .split("\n")
      .filter((line) => line.endsWith(" install ok installed"))
      .map((line) => line.split(" ")[0]),
  );
  return names.filter((name) => !installed.has(name));
}

/** What a machine lacks for a run, found by looking and changed by nothing. */
export type Shortfall = {
  packages: string[];
  /** openCryptoki's pkcsslotd is needed and not running. */
  slotDaemonStopped: boolean;
  /** Someone other than root, outside openCryptoki's group, who needs its token. */
  outsideTokenGroup: string | undefined;
};

export function shortfallOf(skipped: Category[], fleet = false): Shortfall {
  const needsTokens = !skipped.includes("smartcard");
  const root = process.getuid?.() === 0;
  const needs = [...requirementsOf(skipped), ...(fleet ? fleetNeeds : [])];
  return {
    packages: missingPackages([...new Set(needs.map((need) => need.debianPackage))]),
    slotDaemonStopped: needsTokens && !slotDaemonRunning(),
    outsideTokenGroup: needsTokens && !root && !inGroup(tokenGroup) ? userInfo().username : undefined,
  };
}

function inGroup(name: string): boolean {
  const line = readFileSync("/etc/group", "utf8")
    .split("\n")
    .find((entry) => entry.startsWith(`${name}:`));
  const gid = Number(line?.split(":")[2]);
  return line !== undefined && (process.getgroups?.() ?? []).includes(gid);
}

/** The commands someone who is not root runs to make the machine ready; undefined when it is. */
export function instructionsFor(shortfall: Shortfall, options: { systemd: boolean }): string | undefined {
  const lacks: string[] = [];
  const commands: string[] = [];
  if (shortfall.packages.length > 0) {
    lacks.push(`Debian packages: ${shortfall.packages.join(" ")}`);
    if (shortfall.packages.includes("slapd"))
      commands.push(`echo "${slapdPreseed}" | sudo debconf-set-selections`);
    commands.push(
      "sudo apt-get update",
      `sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${shortfall.packages.join(" ")}`,
    );
  }
  if (shortfall.slotDaemonStopped) {
    lacks.push("openCryptoki's slot daemon (pkcsslotd) running");
    if (options.systemd) commands.push("sudo systemctl start pkcsslotd");
    else
      commands.push(
        `sudo install -d -o root -g ${tokenGroup} -m 0770 ${slotDaemonFolders.join(" ")}`,
        "sudo /usr/sbin/pkcsslotd",
      );
  }
  if (shortfall.outsideTokenGroup) {
    lacks.push(`${shortfall.outsideTokenGroup} in the group ${tokenGroup} (openCryptoki's token)`);
    commands.push(`sudo usermod -a -G ${tokenGroup} ${shortfall.outsideTokenGroup}   # then log in again`);
  }
  if (lacks.length === 0) return undefined;
  const unready = categoriesLacking(shortfall);
  return [
    "npm test cannot run: this machine lacks",
    ...lacks.map((lack) => `  - ${lack}`),
    "Run these commands, then npm test again (npm test run as root does this itself):",
    ...commands.map((command) => `  ${command}`),
    `Or leave those tests out, knowingly: CAREID_TEST_SKIP=${unready.join(",")} npm test`,
  ].join("\n");
}

function categoriesLacking(shortfall: Shortfall): Category[] {
  return (Object.keys(categories) as Category[]).filter(
    (category) =>
      categories[category].needs.some((need) => shortfall.packages.includes(need.debianPackage)) ||
      (category === "smartcard" &&
        (shortfall.slotDaemonStopped || shortfall.outsideTokenGroup !== undefined)),
  );
}

/** As root: installs the missing packages (one apt-get update) and starts the slot daemon. */
function prepareAsRoot(shortfall: Shortfall): void {
  if (shortfall.packages.length > 0) {
    console.log(`pretest: installing ${shortfall.packages.join(" ")}`);
    if (shortfall.packages.includes("slapd"))
      execFileSync("debconf-set-selections", { input: `${slapdPreseed}\n` });
    const environment = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env: environment });
    execFileSync("apt-get", ["install", "-yq", "--no-install-recommends", ...shortfall.packages], {
      stdio: "inherit",
      env: environment,
    });
    // Should a system slapd have started anyway, stop it: it is not ours to run.
    if (shortfall.packages.includes("slapd")) spawnSync("service", ["slapd", "stop"], { stdio: "ignore" });
  }
  if (shortfall.slotDaemonStopped) {
    console.log("pretest: starting openCryptoki's slot daemon (pkcsslotd)");
    for (const folder of slotDaemonFolders)
      execFileSync("install", ["-d", "-o", "root", "-g", tokenGroup, "-m", "0770", folder]);
    execFileSync("/usr/sbin/pkcsslotd");
    if (!slotDaemonRunning()) throw new Error("pkcsslotd was started but is not running");
  }
}

/** The URL with its password hidden, for messages. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(not a URL)";
  }
}

/** TEST_DATABASE_URL must answer, as a user who may create the tests' databases. */
export async function checkTestDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    const { rows } = await client.query<{ allowed: boolean }>(
      "select rolcreatedb or rolsuper as allowed from pg_roles where rolname = current_user",
    );
    if (!rows[0]?.allowed)
      throw new Error("its user may not create databases, and each test clones a database of its own");
  } catch (error) {
    throw new Error(
      `TEST_DATABASE_URL=${shown(url)} cannot be used: ${(error as Error).message}. ` +
        "Correct it or start PostgreSQL there, or unset TEST_DATABASE_URL to test on embedded PGlite.",
    );
  } finally {
    await client.end().catch(() => {});
  }
}

function leftOutSummary(skipped: Category[]): string | undefined {
  if (skipped.length === 0) return undefined;
  return [
    `CAREID_TEST_SKIP left out (their tests are reported skipped):`,
    ...skipped.map((category) => `  - ${category}: ${categories[category].what}`),
  ].join("\n");
}

async function main(): Promise<number> {
  const skipped = skippedCategories();
  if (process.argv.includes("--left-out")) {
    const summary = leftOutSummary(skipped);
    if (summary) console.log(summary);
    return 0;
  }
  // The fleet tests drive no browser, card or LDAP client: only PostgreSQL, Patroni, etcd, HAProxy.
  const fleet = process.argv.includes("--fleet");
  const needed = fleet ? (Object.keys(categories) as Category[]) : skipped;
  let shortfall = shortfallOf(needed, fleet);
  if (process.getuid?.() === 0) {
    prepareAsRoot(shortfall);
    shortfall = shortfallOf(needed, fleet);
  }
  const instructions = instructionsFor(shortfall, { systemd: existsSync("/run/systemd/system") });
  if (instructions) {
    console.error(instructions);
    return 1;
  }
  if (fleet) {
    console.log("pretest: ready for the fleet tests (PostgreSQL 15, Patroni, etcd, HAProxy)");
    return 0;
  }
  const url = process.env.TEST_DATABASE_URL;
  if (url) await checkTestDatabase(url);
  const summary = leftOutSummary(skipped);
  if (summary) console.log(summary);
  console.log(
    `pretest: ready (Debian packages${skipped.includes("smartcard") ? "" : ", pkcsslotd"}` +
      `${url ? `, PostgreSQL at ${shown(url)}` : ", embedded PGlite"})`,
  );
  return 0;
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (error) {
    console.error(`npm test cannot run: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
