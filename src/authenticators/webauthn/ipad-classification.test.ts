import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import {
  assessRecorded,
  type RecordedIpad,
  recordedIpads,
  trustRecordedRoots,
} from "../../../test/support/ipad-attestations.ts";
import { aalOf, acrClasses } from "../../assurance/methods.ts";
import { openAttestationPolicy } from "./attestation/policy.ts";

function recorded(name: string): RecordedIpad {
  const found = recordedIpads.find((candidate) => candidate.name === name);
  assert.ok(found, `test/fixtures/webauthn/ipads.json records ${name}`);
  return found;
}

// Runs first: SimpleWebAuthn still holds Apple's real root, and no device management root is trusted.
test("without the roots configured, an iPad's attestation proves nothing and it stays at AAL2", async () => {
  const apple = await assessRecorded(openAttestationPolicy, recorded("apple-attested-device-bound"));
  assert.equal(apple.ok, false, "Apple's format must chain to the Apple root SimpleWebAuthn holds");
  const managed = await assessRecorded(openAttestationPolicy, recorded("managed-enterprise"));
  assert.ok(managed.ok);
  assert.equal(managed.finding.attestation, "untrusted");
  assert.equal(managed.kind, "ipad");
  assert.equal(managed.method, "PASSKEY_SYNCED");
});

test("each recorded iPad set-up gets its kind, method and AAL from its attestation object", async () => {
  const policy = trustRecordedRoots();
  const expected: Record<string, [string, string, string, number]> = {
    "managed-enterprise": ["trusted", "ipad", "IOS", 3],
    "apple-attested-device-bound": ["trusted", "ipad", "IOS", 3],
    "icloud-keychain": ["none", "synced-passkey", "PASSKEY_SYNCED", 2],
    "icloud-keychain-apple-attested": ["trusted", "synced-passkey", "PASSKEY_SYNCED", 2],
    "managed-enterprise-synced": ["trusted", "synced-passkey", "PASSKEY_SYNCED", 2],
    "other-organisation": ["untrusted", "ipad", "PASSKEY_SYNCED", 2],
  };
  assert.deepEqual(recordedIpads.map((entry) => entry.name).sort(), Object.keys(expected).sort());
  for (const entry of recordedIpads) {
    const [attestation, kind, method, aal] = expected[entry.name] as [string, string, string, number];
    const assessed = await assessRecorded(policy, entry);
    assert.ok(assessed.ok, `${entry.name}: ${assessed.ok || assessed.reason}`);
    assert.equal(assessed.finding.attestation, attestation, entry.name);
    assert.equal(assessed.finding.refusal, undefined, entry.name);
    assert.equal(assessed.kind, kind, entry.name);
    assert.equal(assessed.method, method, entry.name);
    assert.equal(aalOf(assessed.method), aal, entry.name);
    // Where AAL3 is asked for, and for the iPad's own class, only the device-bound attested ones serve.
    assert.equal(acrClasses.AAL3_IOS?.includes(assessed.method), aal === 3, entry.name);
    assert.equal(acrClasses.AAL3_ANY?.includes(assessed.method), aal === 3, entry.name);
  }
});

test("a recorded attestation altered in any signed part is refused, so the fixtures' signatures are real", async () => {
  const policy = trustRecordedRoots();
  for (const name of ["managed-enterprise", "apple-attested-device-bound"]) {
    const entry = recorded(name);
    const response = entry.response as { response: { attestationObject: string } };
    const bytes = Buffer.from(response.response.attestationObject, "base64url");
    // The signature counter, after the RP ID hash and flags: covered by the packed statement's
    // signature, and by the nonce Apple's credential certificate carries.
    const authenticatorData = bytes.indexOf(createHash("sha256").update("careid.test").digest());
    assert.ok(authenticatorData > 0);
    bytes[authenticatorData + 36] = (bytes[authenticatorData + 36] as number) ^ 0x01;
    const altered = {
      ...response,
      response: { ...response.response, attestationObject: bytes.toString("base64url") },
    };
    const assessed = await assessRecorded(policy, entry, altered);
    assert.equal(assessed.ok, false, name);
  }
});
