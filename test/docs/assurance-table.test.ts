import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { aalOf, acrClasses, type Method, methods } from "../../src/assurance/methods.ts";
import { type Limit, signInLimits } from "../../src/authenticators/throttle.ts";
import { authenticatorKinds } from "../../src/authenticators/webauthn/classification.ts";
import { assessRecorded, recordedIpads, trustRecordedRoots } from "../support/ipad-attestations.ts";

/** The policy table as docs/assurance.md must show it, made from the code that enforces it. */
export function policyTable(): string {
  const rows = (Object.keys(methods) as Method[]).map((method) => {
    const classes = Object.keys(acrClasses).filter((name) => acrClasses[name]?.includes(method));
    return `| \`${method}\` | ${methods[method].label} | ${aalOf(method)} | ${classes.map((name) => `\`${name}\``).join(", ")} |`;
  });
  return [
    "| Method (`amr`) | Authenticator | AAL | Accepted by (`acr`) |",
    "|---|---|---|---|",
    ...rows,
  ].join("\n");
}

export function kindTable(): string {
  const rows = Object.entries(authenticatorKinds).map(
    ([kind, { method, label }]) => `| \`${kind}\` | ${label} | \`${method}\` | ${aalOf(method)} |`,
  );
  return ["| Kind | Authenticator | Method (`amr`) | AAL when attested |", "|---|---|---|---|", ...rows].join(
    "\n",
  );
}

/**
 * The iPad set-ups as docs/assurance.md must show them: each recorded registration
 * (test/fixtures/webauthn/ipads.json) verified and classified by the service's registration step.
 */
export async function ipadTable(): Promise<string> {
  const policy = trustRecordedRoots();
  const rows = [];
  for (const recorded of recordedIpads) {
    const assessed = await assessRecorded(policy, recorded);
    if (!assessed.ok) throw new Error(`${recorded.name} does not verify: ${assessed.reason}`);
    const { info, finding, kind, method } = assessed;
    const backup =
      info.credentialDeviceType === "multiDevice"
        ? `BE set, BS ${info.credentialBackedUp ? "set" : "clear"}`
        : "BE clear";
    rows.push(
      `| ${recorded.setUp} | \`${info.fmt}\` | ${backup} | ${finding.attestation} | \`${kind}\` | \`${method}\` | ${aalOf(method)} |`,
    );
  }
  return [
    "| iPad set-up | Format | Backup flags | Attestation | Kind | Method (`amr`) | AAL |",
    "|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** The sign-in throttles as docs/assurance.md must show them, made from src/authenticators/throttle.ts. */
export function throttleTable(): string {
  const period = (seconds: number) =>
    seconds === 86_400 ? "UTC day" : seconds === 60 ? "minute" : `${seconds / 60} minutes`;
  const rows = (Object.entries(signInLimits) as Array<[string, Limit]>).map(([name, limit]) =>
    limit.kind === "window"
      ? `| \`${name}\` | ${limit.counts} | ${limit.attempts} per ${period(limit.windowSeconds)} | 429 until the ${limit.windowSeconds === 86_400 ? "UTC day" : "window"} ends |`
      : `| \`${name}\` | ${limit.counts} | ${limit.free} per ${period(limit.windowSeconds)} | 429 for ${limit.firstDelaySeconds} s after the last attempt, doubling with each further one up to ${limit.maxDelaySeconds} s |`,
  );
  return ["| Limit | Counts | Allows | Then |", "|---|---|---|---|", ...rows].join("\n");
}

test("docs/assurance.md shows the assurance policy exactly as src/assurance/methods.ts enforces it", () => {
  const docs = readFileSync(new URL("../../docs/assurance.md", import.meta.url), "utf8");
  assert.ok(docs.includes(policyTable()), `docs/assurance.md must contain this table:\n${policyTable()}`);
  assert.ok(docs.includes(kindTable()), `docs/assurance.md must contain this table:\n${kindTable()}`);
  assert.ok(docs.includes(throttleTable()), `docs/assurance.md must contain this table:\n${throttleTable()}`);
});

test("docs/assurance.md shows each iPad set-up at the level its recorded attestation gets", async () => {
  const docs = readFileSync(new URL("../../docs/assurance.md", import.meta.url), "utf8");
  const table = await ipadTable();
  assert.ok(docs.includes(table), `docs/assurance.md must contain this table:\n${table}`);
});
