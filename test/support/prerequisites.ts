import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/**
 * What the suite needs from the machine beyond Node.js: Debian packages, and openCryptoki's slot
 * daemon. `npm test`'s pretest step (scripts/test-prerequisites.ts) installs and starts them, so a
 * test never skips for a missing tool: it fails, naming what is missing. A narrower run is a
 * choice made out loud: CAREID_TEST_SKIP names categories to leave out, and each test of a
 * category calls leftOut() first, so the output names what was not run.
 */

/** A Debian package and a file it installs, which proves it is there without asking dpkg. */
export type Requirement = { debianPackage: string; file: string };

export type Category = "browser" | "smartcard" | "ldap";

/** Debian's multiarch folder for this machine's libraries. */
export function multiarch(): string {
  return process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
}

export const softHsmModule = "/usr/lib/softhsm/libsofthsm2.so";
export const openCryptokiModule = `/usr/lib/${multiarch()}/pkcs11/libopencryptoki.so`;

export const categories: Record<Category, { what: string; needs: Requirement[] }> = {
  browser: {
    what: "journeys driven through Debian's Chromium (test/e2e)",
    needs: [{ debianPackage: "chromium", file: "/usr/bin/chromium" }],
  },
  smartcard: {
    what: "PKCS#11 software tokens as smartcards: SoftHSM2, openCryptoki and its pkcsslotd, OpenSC's pkcs11-tool, curl through OpenSSL's PKCS#11 engine",
    needs: [
      { debianPackage: "softhsm2", file: softHsmModule },
      { debianPackage: "opencryptoki", file: openCryptokiModule },
      { debianPackage: "opensc", file: "/usr/bin/pkcs11-tool" },
      { debianPackage: "libengine-pkcs11-openssl", file: `/usr/lib/${multiarch()}/engines-3/pkcs11.so` },
      { debianPackage: "curl", file: "/usr/bin/curl" },
    ],
  },
  ldap: {
    what: "our LDAP server checked with OpenLDAP's ldapsearch and compared with slapd",
    needs: [
      { debianPackage: "ldap-utils", file: "/usr/bin/ldapsearch" },
      { debianPackage: "slapd", file: "/usr/sbin/slapd" },
    ],
  },
};

/**
 * Needed whatever is left out: the PKI tests check the CA's work with openssl, the resilience
 * tests restart PostgreSQL servers of their own (never the one the suite shares), and the SAML
 * tests check their XML with xmllint and xmlsec1, the signing tests with xmllint and the JDK.
 */
export const alwaysNeeded: Requirement[] = [
  { debianPackage: "openssl", file: "/usr/bin/openssl" },
  { debianPackage: "postgresql-15", file: "/usr/lib/postgresql/15/bin/initdb" },
  // Independent checks of the XML the service makes: SAML schemas and XML signatures.
  { debianPackage: "libxml2-utils", file: "/usr/bin/xmllint" },
  { debianPackage: "xmlsec1", file: "/usr/bin/xmlsec1" },
  // The JDK's XML-DSig verifies prescription signatures, which xmlsec1 cannot (docs/decisions.md).
  {
    debianPackage: "openjdk-17-jdk-headless",
    file: `/usr/lib/jvm/java-17-openjdk-${process.arch === "arm64" ? "arm64" : "amd64"}/bin/javac`,
  },
  // The sandbox's Python relying-party example is run against it, as an integrator would.
  { debianPackage: "python3-authlib", file: "/usr/lib/python3/dist-packages/authlib/__init__.py" },
  { debianPackage: "python3-requests", file: "/usr/lib/python3/dist-packages/requests/__init__.py" },
];

/**
 * What `npm run test:fleet` needs besides: Patroni with etcd for the highly available
 * PostgreSQL, and HAProxy in front of the nodes and of Patroni's leader.
 */
export const fleetNeeds: Requirement[] = [
  { debianPackage: "patroni", file: "/usr/bin/patroni" },
  { debianPackage: "etcd-server", file: "/usr/bin/etcd" },
  { debianPackage: "haproxy", file: "/usr/sbin/haproxy" },
];

const categoryNames = Object.keys(categories) as Category[];

function isCategory(name: string): name is Category {
  return (categoryNames as string[]).includes(name);
}

/** The categories CAREID_TEST_SKIP leaves out; an unknown name is refused, never ignored. */
export function skippedCategories(value = process.env.CAREID_TEST_SKIP ?? ""): Category[] {
  const names = value
    .split(",")
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = names.filter((name) => !isCategory(name));
  if (unknown.length > 0)
    throw new Error(
      `CAREID_TEST_SKIP names unknown categories: ${unknown.join(", ")} (known: ${categoryNames.join(", ")})`,
    );
  return categoryNames.filter((name) => names.includes(name));
}

/** The requirements of a run that leaves out `skipped`. */
export function requirementsOf(skipped: Category[]): Requirement[] {
  return [
    ...alwaysNeeded,
    ...categoryNames.filter((name) => !skipped.includes(name)).flatMap((name) => categories[name].needs),
  ];
}

/** openCryptoki's daemon, found through /proc (procps may not be installed). */
export function slotDaemonRunning(): boolean {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(join("/proc", entry, "comm"), "utf8").trim() === "pkcsslotd") return true;
    } catch {
      // The process ended while we looked.
    }
  }
  return false;
}

/**
 * Fails loudly when a requirement is missing: the pretest installs everything, so a missing file
 * means the suite was run some other way. `category` names how to leave these tests out instead.
 */
export function assertInstalled(requirements: Requirement[], category?: Category): void {
  const missing = requirements.filter((requirement) => !existsSync(requirement.file));
  const instead = category ? `, or leave these tests out with CAREID_TEST_SKIP=${category}` : "";
  if (missing.length > 0)
    throw new Error(
      `${missing.map((requirement) => `${requirement.file} (Debian package ${requirement.debianPackage})`).join(", ")} missing: ` +
        `run the suite with npm test, whose pretest step installs it (or npm run pretest alone)${instead}`,
    );
}

/** Fails unless this category's tools are here; a test calls it through leftOut, support code directly. */
export function assertCategoryReady(category: Category): void {
  if (skippedCategories().includes(category))
    throw new Error(
      `this test uses the ${category} tools, which CAREID_TEST_SKIP leaves out: call leftOut(t, "${category}") at its start`,
    );
  assertInstalled(categories[category].needs, category);
  if (category === "smartcard" && !slotDaemonRunning())
    throw new Error(
      "openCryptoki's slot daemon pkcsslotd is not running: npm test's pretest step starts it as root " +
        "(or npm run pretest alone), or leave these tests out with CAREID_TEST_SKIP=smartcard",
    );
}

/**
 * Called first in a test that needs `needs`: true when CAREID_TEST_SKIP leaves one of them out
 * (the test is reported skipped, naming the category, and should return), false when the tools
 * are here. Missing tools fail the test.
 */
export function leftOut(t: { skip(message?: string): void }, ...needs: Category[]): boolean {
  const skipped = skippedCategories().filter((category) => needs.includes(category));
  if (skipped.length > 0) {
    t.skip(`left out by CAREID_TEST_SKIP (${skipped.join(", ")})`);
    return true;
  }
  for (const category of needs) assertCategoryReady(category);
  return false;
}
