import assert from "node:assert/strict";
import { test } from "node:test";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import { issue, makeRoot } from "../../../../test/support/attestation-ca.ts";
import { judgeAttestation } from "./evaluation.ts";
import type { MetadataEntry } from "./metadata-blob.ts";
import { type AttestationPolicy, openAttestationPolicy } from "./policy.ts";

const aaguid = "2fc0579f-8113-47ea-b116-bb5a8db9202a";

/** An attestation object as an authenticator sends it; only the statement matters here. */
function attestationObject(fmt: string, x5c?: Uint8Array[]) {
  const statement = new Map<string, unknown>(x5c ? [["x5c", x5c]] : []);
  return isoCBOR.encode(
    new Map<string, unknown>([
      ["fmt", fmt],
      ["attStmt", statement],
      ["authData", new Uint8Array(37)],
    ]) as never,
  );
}

async function vendor() {
  const root = await makeRoot("Test vendor root");
  const batch = await issue(await issue(root, "Test vendor intermediate"), "Test batch");
  const x5c = batch.chain.slice(0, -1).map((certificate) => new Uint8Array(certificate.rawData));
  return { root, x5c };
}

function entry(roots: MetadataEntry["attestationRoots"], statuses: string[] = []): MetadataEntry {
  return { aaguid, description: "test", attestationRoots: roots, keyProtection: ["hardware"], statuses };
}

test("an attestation is trusted only through a configured root or its model's metadata statement", async () => {
  const { root, x5c } = await vendor();
  const judge = (policy: AttestationPolicy, fmt = "packed", chain: Uint8Array[] | null = x5c) =>
    judgeAttestation(policy, { fmt, aaguid, attestationObject: attestationObject(fmt, chain ?? undefined) });
  assert.equal((await judge(openAttestationPolicy, "none", null)).attestation, "none");
  assert.equal((await judge(openAttestationPolicy, "packed", null)).attestation, "self");
  assert.equal((await judge(openAttestationPolicy)).attestation, "untrusted");
  assert.equal((await judge({ ...openAttestationPolicy, roots: [root.certificate] })).attestation, "trusted");
  const withStatement = {
    ...openAttestationPolicy,
    metadata: new Map([[aaguid, entry([root.certificate])]]),
  };
  assert.equal((await judge(withStatement)).attestation, "trusted");
  const otherRoot = (await makeRoot("Another vendor")).certificate;
  const wrongStatement = { ...openAttestationPolicy, metadata: new Map([[aaguid, entry([otherRoot])]]) };
  assert.equal((await judge(wrongStatement)).attestation, "untrusted");
  assert.equal((await judge(openAttestationPolicy, "packed", x5c.slice(0, 1))).attestation, "untrusted");
});

test("deny lists, allow lists and compromised models refuse registration, each with its reason", async () => {
  const { root, x5c } = await vendor();
  const trusted = { ...openAttestationPolicy, roots: [root.certificate] };
  const judge = (policy: AttestationPolicy, chain: Uint8Array[] | null = x5c) =>
    judgeAttestation(policy, {
      fmt: "packed",
      aaguid,
      attestationObject: attestationObject("packed", chain ?? undefined),
    });
  assert.equal((await judge(trusted)).refusal, undefined);
  assert.equal(
    (await judge({ ...trusted, deniedAaguids: new Set([aaguid]) })).refusal?.reason,
    "denied-aaguid",
  );
  const allowed = { ...trusted, allowedAaguids: new Set([aaguid]) };
  assert.equal((await judge(allowed)).refusal, undefined);
  assert.equal(
    (await judge(allowed, null)).refusal?.reason,
    "not-allowed",
    "self attestation proves no model",
  );
  assert.equal(
    (await judge({ ...trusted, allowedAaguids: new Set(["00000000-0000-0000-0000-000000000001"]) })).refusal
      ?.reason,
    "not-allowed",
  );
  const compromised = {
    ...trusted,
    metadata: new Map([[aaguid, entry([root.certificate], ["FIDO_CERTIFIED", "REVOKED"])]]),
  };
  const finding = await judge(compromised);
  assert.equal(finding.refusal?.reason, "compromised");
  assert.match(String(finding.refusal?.message), /known security flaw/);
});
