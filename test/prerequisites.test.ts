import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";
import { checkTestDatabase, instructionsFor, missingPackages } from "../scripts/test-prerequisites.ts";
import {
  assertCategoryReady,
  assertInstalled,
  leftOut,
  requirementsOf,
  skippedCategories,
} from "./support/prerequisites.ts";

const run = promisify(execFile);
const script = new URL("../scripts/test-prerequisites.ts", import.meta.url).pathname;
const fixture = new URL("./fixtures/left-out.ts", import.meta.url).pathname;

test("dpkg tells an installed package from one that is not", () => {
  assert.deepEqual(missingPackages(["openssl", "careid-no-such-package"]), ["careid-no-such-package"]);
  assert.deepEqual(missingPackages([]), []);
});

test("CAREID_TEST_SKIP names categories; an unknown one is refused, not ignored", () => {
  assert.deepEqual(skippedCategories(""), []);
  assert.deepEqual(skippedCategories(" ldap, browser ,"), ["browser", "ldap"]);
  assert.throws(
    () => skippedCategories("browser,cards"),
    /unknown categories: cards \(known: browser, smartcard, ldap\)/,
  );
});

test("a narrower run needs fewer packages, but always openssl, PostgreSQL's server, the XML checkers and the Python example's libraries", () => {
  const all = requirementsOf([]).map((need) => need.debianPackage);
  for (const name of ["chromium", "softhsm2", "opencryptoki", "opensc", "libengine-pkcs11-openssl", "curl"])
    assert.ok(all.includes(name), name);
  assert.ok(all.includes("ldap-utils") && all.includes("slapd"));
  assert.deepEqual(
    requirementsOf(["browser", "smartcard", "ldap"]).map((need) => need.debianPackage),
    [
      "openssl",
      "postgresql-15",
      "libxml2-utils",
      "xmlsec1",
      "openjdk-17-jdk-headless",
      "python3-authlib",
      "python3-requests",
    ],
  );
  assert.ok(!requirementsOf(["browser"]).some((need) => need.debianPackage === "chromium"));
});

test("someone who is not root is told the exact commands, and which categories they could leave out", () => {
  const text = instructionsFor(
    { packages: ["chromium", "slapd"], slotDaemonStopped: true, outsideTokenGroup: "alice" },
    { systemd: false },
  );
  assert.ok(text);
  assert.match(text, /echo "slapd slapd\/no_configuration boolean true" \| sudo debconf-set-selections/);
  assert.match(
    text,
    /sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium slapd\n/,
  );
  assert.match(text, /sudo install -d -o root -g pkcs11 -m 0770 \/var\/lock\/opencryptoki .*TOK_OBJ\n/);
  assert.match(text, /sudo \/usr\/sbin\/pkcsslotd/);
  assert.match(text, /sudo usermod -a -G pkcs11 alice/);
  assert.match(text, /CAREID_TEST_SKIP=browser,smartcard,ldap npm test$/);

  const withSystemd = instructionsFor(
    { packages: [], slotDaemonStopped: true, outsideTokenGroup: undefined },
    { systemd: true },
  );
  assert.match(withSystemd ?? "", /sudo systemctl start pkcsslotd/);
  assert.doesNotMatch(withSystemd ?? "", /apt-get|debconf/);
  assert.match(withSystemd ?? "", /CAREID_TEST_SKIP=smartcard npm test$/);

  assert.equal(
    instructionsFor(
      { packages: [], slotDaemonStopped: false, outsideTokenGroup: undefined },
      { systemd: false },
    ),
    undefined,
  );
});

test("a missing tool fails loudly, naming its package and how to leave its tests out", () => {
  assert.throws(
    () =>
      assertInstalled(
        [{ debianPackage: "careid-no-such-package", file: "/nonexistent/careid-tool" }],
        "ldap",
      ),
    /\/nonexistent\/careid-tool \(Debian package careid-no-such-package\) missing: run the suite with npm test.*CAREID_TEST_SKIP=ldap/,
  );
});

test("support code refuses a category left out, so a test that forgot leftOut cannot pass unnoticed", (t) => {
  const before = process.env.CAREID_TEST_SKIP;
  t.after(() => {
    if (before === undefined) delete process.env.CAREID_TEST_SKIP;
    else process.env.CAREID_TEST_SKIP = before;
  });
  process.env.CAREID_TEST_SKIP = "browser";
  assert.throws(() => assertCategoryReady("browser"), /call leftOut\(t, "browser"\) at its start/);
});

test("a test left out by CAREID_TEST_SKIP is reported skipped, naming the category, and does not run", async (t) => {
  if (leftOut(t, "ldap")) return; // the example's other test needs the LDAP tools
  // Without NODE_TEST_CONTEXT, which would make the child report to this runner instead of printing.
  const { NODE_TEST_CONTEXT: _, ...environment } = process.env;
  const { stdout } = await run(process.execPath, ["--test", "--test-reporter=spec", fixture], {
    env: { ...environment, CAREID_TEST_SKIP: "browser" },
  });
  assert.match(stdout, /a browser journey .*# left out by CAREID_TEST_SKIP \(browser\)/);
  assert.match(stdout, /the LDAP check ran/);
  assert.match(stdout, /skipped 1\b/);
  assert.match(stdout, /pass 1\b/);
  assert.match(stdout, /fail 0\b/);
});

test("the pretest refuses an unknown category at once", async () => {
  const failure = await run(process.execPath, [script], {
    env: { ...process.env, CAREID_TEST_SKIP: "browser,nonsense" },
  }).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  assert.equal(failure?.code, 1);
  assert.match(
    failure?.stderr ?? "",
    /npm test cannot run: CAREID_TEST_SKIP names unknown categories: nonsense/,
  );
});

test("TEST_DATABASE_URL must answer; an unreachable one is named with its password hidden", async () => {
  await assert.rejects(
    checkTestDatabase("postgres://postgres:secret@127.0.0.1:1/postgres"),
    /TEST_DATABASE_URL=postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/postgres cannot be used: .*ECONNREFUSED.*unset TEST_DATABASE_URL/,
  );
  if (process.env.TEST_DATABASE_URL) await checkTestDatabase(process.env.TEST_DATABASE_URL);
});
