import assert from "node:assert/strict";
import { test } from "node:test";
import { aalOf } from "../../assurance/methods.ts";
import { cloneClue } from "./authentication.ts";
import { type Evidence, kindOf, methodOf } from "./classification.ts";

const attested: Evidence = {
  format: "packed",
  aaguid: "2fc0579f-8113-47ea-b116-bb5a8db9202a",
  attachment: "cross-platform",
  transports: ["usb"],
  backupEligible: false,
  attestation: "trusted",
  keyProtection: undefined,
};

test("each kind of authenticator gets its method and AAL from its attestation, attachment and flags", () => {
  const cases: [string, Partial<Evidence>, string, string, number][] = [
    ["a roaming FIDO2 key", {}, "security-key", "FIDO2", 3],
    [
      "a key the browser did not place, by its transports",
      { attachment: undefined, transports: ["nfc"] },
      "security-key",
      "FIDO2",
      3,
    ],
    [
      "TPM attestation",
      { format: "tpm", attachment: "platform", transports: ["internal"] },
      "windows-hello",
      "FIDO2",
      3,
    ],
    [
      "Apple attestation",
      { format: "apple", attachment: "platform", transports: ["internal"] },
      "ipad",
      "IOS",
      3,
    ],
    [
      "Apple's managed-device AAGUID on an enterprise (packed) attestation",
      { aaguid: "DD4EC289-E01D-41C9-BB89-70FA845D4BF2", attachment: "platform", transports: ["internal"] },
      "ipad",
      "IOS",
      3,
    ],
    [
      "an attested device-bound platform credential",
      { format: "android-key", attachment: "platform", transports: ["internal", "hybrid"] },
      "passkey",
      "PASSKEY",
      3,
    ],
    [
      "a backup-eligible credential, however attested",
      { attachment: "platform", backupEligible: true },
      "synced-passkey",
      "PASSKEY_SYNCED",
      2,
    ],
    ["no attestation", { format: "none", attestation: "none" }, "security-key", "PASSKEY_SYNCED", 2],
    ["self attestation", { attestation: "self" }, "security-key", "PASSKEY_SYNCED", 2],
    [
      "a chain to no trusted root",
      { format: "tpm", attestation: "untrusted" },
      "windows-hello",
      "PASSKEY_SYNCED",
      2,
    ],
    [
      "metadata saying keys live in software",
      { keyProtection: ["software"] },
      "security-key",
      "PASSKEY_SYNCED",
      2,
    ],
    [
      "metadata saying keys live in a secure element",
      { keyProtection: ["hardware", "secure_element"] },
      "security-key",
      "FIDO2",
      3,
    ],
  ];
  for (const [name, change, kind, method, aal] of cases) {
    const evidence = { ...attested, ...change };
    assert.equal(kindOf(evidence), kind, name);
    const chosen = methodOf(kindOf(evidence), evidence);
    assert.equal(chosen, method, name);
    assert.equal(aalOf(chosen), aal, name);
  }
});

test("a counter that does not rise, or a changed backup eligibility, looks like a clone", () => {
  const stored = { counter: 5, device_type: "singleDevice" };
  assert.equal(cloneClue(stored, { counter: 6, deviceType: "singleDevice" }), undefined);
  assert.equal(
    cloneClue(stored, { counter: 5, deviceType: "singleDevice" })?.reason,
    "counter-not-increased",
  );
  assert.equal(
    cloneClue(stored, { counter: 9, deviceType: "multiDevice" })?.reason,
    "backup-eligibility-changed",
  );
  assert.equal(
    cloneClue({ counter: 0, device_type: "multiDevice" }, { counter: 0, deviceType: "multiDevice" }),
    undefined,
    "no counter kept",
  );
});
