import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { assertCategoryReady, openCryptokiModule, softHsmModule } from "./prerequisites.ts";

/**
 * PKCS#11 software tokens standing in for blank smartcards, provisioned with OpenSC's
 * pkcs11-tool as a card manufacturer would: an initialised token with the manufacturer's
 * unlock code (SO PIN) and no passcode yet.
 *
 * SoftHSM2 never counts wrong PINs; openCryptoki's software token locks the user PIN after three,
 * as a card does, so the locking tests use it. Both fail loudly when a package is missing (the
 * pretest installs them); a test leaves them out only through leftOut(t, "smartcard").
 */
/** The blank card's unlock code, openCryptoki's factory default SO PIN. */
export const blankCardUnlockCode = "87654321";

export type BlankCard = {
  modulePath: string;
  /** Environment the module needs (SoftHSM2's configuration file). */
  environment: Record<string, string>;
  remove(): void;
};

/** A SoftHSM2 token in its own directory; removing it deletes the token, as pulling a card out. */
export function softHsmCard(label = "careid-card"): BlankCard {
  assertCategoryReady("smartcard");
  const directory = mkdtempSync(join(tmpdir(), "careid-softhsm-"));
  mkdirSync(join(directory, "tokens"));
  const configuration = join(directory, "softhsm2.conf");
  writeFileSync(
    configuration,
    `directories.tokendir = ${join(directory, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\n`,
  );
  const environment = { SOFTHSM2_CONF: configuration };
  pkcs11Tool(softHsmModule, environment, [
    "--init-token",
    "--slot-index",
    "0",
    "--label",
    label,
    "--so-pin",
    blankCardUnlockCode,
  ]);
  return {
    modulePath: softHsmModule,
    environment,
    remove: () => rmSync(join(directory, "tokens"), { recursive: true, force: true }),
  };
}

/**
 * A SoftHSM2 token standing in for a service's HSM: initialised, its user PIN set, this process
 * pointed at it (SOFTHSM2_CONF), deleted when the test ends. Its settings and its environment.
 */
export function softHsmServiceToken(
  t: TestContext,
  tokenLabel: string,
  pin: string,
): {
  settings: { modulePath: string; tokenLabel: string; pin: string };
  environment: Record<string, string>;
} {
  const hsm = softHsmCard(tokenLabel);
  t.after(() => hsm.remove());
  process.env.SOFTHSM2_CONF = hsm.environment.SOFTHSM2_CONF;
  pkcs11Tool(softHsmModule, hsm.environment, [
    "--login",
    "--login-type",
    "so",
    "--so-pin",
    blankCardUnlockCode,
    "--init-pin",
    "--pin",
    pin,
  ]);
  return { settings: { modulePath: softHsmModule, tokenLabel, pin }, environment: hsm.environment };
}

const swtokDirectory = "/var/lib/opencryptoki/swtok";

/** Held by the test process using openCryptoki's one token; a dead holder's is taken over. */
const openCryptokiLock = join(tmpdir(), "careid-opencryptoki-token.lock");

/**
 * openCryptoki has one software token, and several test files use it as their card: each waits
 * for the token, then holds it until its process ends (node --test runs each file in its own).
 * Tests of one file run one after another, so a process already holding it takes it again.
 */
let holding = false;

async function holdOpenCryptoki(): Promise<void> {
  if (holding) return;
  const deadline = Date.now() + 170_000;
  for (;;) {
    try {
      mkdirSync(openCryptokiLock);
      writeFileSync(join(openCryptokiLock, "pid"), String(process.pid));
      process.on("exit", () => rmSync(openCryptokiLock, { recursive: true, force: true }));
      holding = true;
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    if (!holderAlive()) rmSync(openCryptokiLock, { recursive: true, force: true });
    else if (Date.now() > deadline) throw new Error("openCryptoki's token stayed in use by another test");
    else await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function holderAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(join(openCryptokiLock, "pid"), "utf8"));
  } catch {
    return true; // Being made just now: its holder writes the pid next.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * openCryptoki's one software token (slot 3), wiped and initialised afresh, once no other test
 * process holds it. Its daemon pkcsslotd must run: npm test's pretest step starts it.
 */
export async function openCryptokiCard(label = "careid-card"): Promise<BlankCard> {
  assertCategoryReady("smartcard");
  await holdOpenCryptoki();
  for (const name of readdirSync(swtokDirectory)) {
    if (name === "TOK_OBJ") {
      for (const object of readdirSync(join(swtokDirectory, name)))
        rmSync(join(swtokDirectory, name, object));
    } else rmSync(join(swtokDirectory, name), { recursive: true, force: true });
  }
  rmSync("/dev/shm/var.lib.opencryptoki.swtok", { force: true });
  pkcs11Tool(openCryptokiModule, {}, [
    "--init-token",
    "--slot",
    "3",
    "--label",
    label,
    "--so-pin",
    blankCardUnlockCode,
  ]);
  return { modulePath: openCryptokiModule, environment: {}, remove: () => {} };
}

export function pkcs11Tool(modulePath: string, environment: Record<string, string>, args: string[]): string {
  return execFileSync("pkcs11-tool", ["--module", modulePath, ...args], {
    env: { ...process.env, ...environment },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}
