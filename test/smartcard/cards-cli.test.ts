import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { systemActor } from "../../src/audit/actor.ts";
import { withAuditKey } from "../../src/audit/chain-key.ts";
import { issueCard } from "../../src/authenticators/smartcard/cards.ts";
import { openCertificateAuthority } from "../../src/pki/certificate-authority.ts";
import { sealerFor } from "../../src/secrets/sealed.ts";
import { openStore } from "../../src/store/database.ts";
import { csrFor, softwareCardKeys } from "../support/pki.ts";

const main = new URL("../../src/main.ts", import.meta.url).pathname;
const masterKey = "cd".repeat(32);

function careid(
  dataDir: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [main, ...args], {
    env: {
      ...process.env,
      DATABASE_URL: "",
      LOG_LEVEL: "warn",
      CAREID_DATA_DIR: dataDir,
      CAREID_MASTER_KEY: masterKey,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

test("an RA's command line: order a card, list and show it, order an unlock, report it lost", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "careid-cards-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  assert.equal((await careid(dataDir, ["seed", "demo"])).code, 0);

  const store = await openStore({ dataDir, purpose: "test" });
  const holder = (
    await store.db.selectFrom("people").select("uuid").orderBy("uuid").executeTakeFirstOrThrow()
  ).uuid;
  await store.close();

  const refused = await careid(dataDir, ["cards", "issue-order", "--uuid", "999999999999"]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /no person with UUID 999999999999/);

  const ordered = await careid(dataDir, ["cards", "issue-order", "--uuid", holder]);
  assert.equal(ordered.code, 0, ordered.stderr);
  const code = /Order code: (\S+)/.exec(ordered.stdout)?.[1] ?? "";
  assert.match(code, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$/);

  // The agent's part, in process: the card's keys and the CA's issue.
  const agentSide = withAuditKey(
    await openStore({ dataDir, purpose: "test" }),
    Buffer.from(masterKey, "hex"),
  );
  const sealer = sealerFor(Buffer.from(masterKey, "hex"));
  const authority = await openCertificateAuthority(
    agentSide.db,
    sealer,
    "http://pki.test",
    systemActor("test"),
  );
  const issued = await issueCard(
    agentSide.db,
    { authority, sealer, lifetimeDays: 1095 },
    {
      orderCode: code,
      cardSerial: "CLI0001",
      authenticationCsr: await csrFor(await softwareCardKeys()),
      signingCsr: await csrFor(await softwareCardKeys()),
    },
  );
  await agentSide.close();

  const listed = await careid(dataDir, ["cards", "list", "--uuid", holder]);
  assert.match(listed.stdout, new RegExp(`CLI0001\\s+${holder}\\s+active`));
  const shown = await careid(dataDir, ["cards", "show", "--card", "CLI0001"]);
  assert.equal(JSON.parse(shown.stdout).certificates.length, 2);
  assert.doesNotMatch(`${listed.stdout}${shown.stdout}`, new RegExp(issued.unlockCode));

  const unlock = await careid(dataDir, ["cards", "unlock-order", "--card", "CLI0001"]);
  assert.match(unlock.stdout, /Order code: .*\n.*unlock card CLI0001/);
  assert.doesNotMatch(unlock.stdout, new RegExp(issued.unlockCode));

  const repair = await careid(dataDir, ["cards", "repair-order", "--card", "CLI0001"]);
  assert.match(repair.stdout, /Order code: .*\n.*repair card CLI0001/);
  const clear = await careid(dataDir, ["cards", "clear-order", "--card", "CLI0001"]);
  assert.match(clear.stdout, /Order code: .*\n.*clear card CLI0001/);
  const noCard = await careid(dataDir, ["cards", "repair-order", "--card", "NOSUCHCARD"]);
  assert.match(noCard.stderr, /no card NOSUCHCARD/);

  const noReason = await careid(dataDir, ["cards", "report-lost", "--card", "CLI0001"]);
  assert.match(noReason.stderr, /--reason: is required/);
  const lost = await careid(dataDir, [
    "cards",
    "report-lost",
    "--card",
    "CLI0001",
    "--stolen",
    "--reason",
    "bag taken",
  ]);
  assert.equal(lost.code, 0, lost.stderr);
  assert.match(lost.stdout, /Card CLI0001 is stolen; revoked certificates: \w+, \w+\./);
  const again = await careid(dataDir, ["cards", "cancel", "--card", "CLI0001", "--reason", "tidy"]);
  assert.match(again.stderr, /already stolen/);
});
