import assert from "node:assert/strict";
import { test } from "node:test";
import {
  issue,
  makeRoot,
  metadataBlob,
  metadataEntry,
  writeFiles,
} from "../../../../test/support/attestation-ca.ts";
import { ConfigError, loadConfig } from "../../../config.ts";
import { chainReachesAnchor } from "./certificate-chain.ts";
import { loadAttestationPolicy } from "./policy.ts";

const aaguid = "01020304-0506-0708-0102-030405060708";

async function signedBlob() {
  const mdsRoot = await makeRoot("Test MDS root");
  const signer = await issue(await issue(mdsRoot, "Test MDS intermediate"), "Test MDS signer");
  const vendorRoot = await makeRoot("Test vendor attestation root");
  const blob = await metadataBlob(signer, {
    legalHeader: "test",
    no: 7,
    nextUpdate: "2099-01-01",
    entries: [metadataEntry(aaguid, [vendorRoot.certificate]), { aaidx: "u2f only" }],
  });
  return { mdsRoot, vendorRoot, blob };
}

function settings(files: Record<string, string>) {
  return loadConfig({
    CAREID_WEBAUTHN_MDS_FILE: files.blob,
    CAREID_WEBAUTHN_MDS_ROOT: files.root,
    ...(files.roots ? { CAREID_WEBAUTHN_ATTESTATION_ROOTS: files.roots } : {}),
  }).webauthn;
}

test("an MDS3 BLOB signed through a chain to the configured root gives statements by AAGUID", async () => {
  const { mdsRoot, vendorRoot, blob } = await signedBlob();
  const files = writeFiles({ blob, root: mdsRoot.certificate.toString("pem") });
  const policy = await loadAttestationPolicy(settings(files));
  const entry = policy.metadata.get(aaguid);
  assert.ok(entry, "the FIDO2 entry is kept (and the U2F one without an AAGUID dropped)");
  assert.equal(policy.metadata.size, 1);
  assert.deepEqual(entry.keyProtection, ["hardware", "secure_element"]);
  assert.equal(entry.attestationRoots[0]?.subject, vendorRoot.certificate.subject);
});

test("a tampered BLOB, one signed by another root, and unreadable files are refused at start, each named", async () => {
  const { mdsRoot, blob } = await signedBlob();
  const [header, payload, signature] = blob.split(".") as [string, string, string];
  const altered = Buffer.from(payload, "base64url").toString().replace('"no":7', '"no":8');
  const tampered = `${header}.${Buffer.from(altered).toString("base64url")}.${signature}`;
  const otherRoot = await makeRoot("Someone else's root");
  const cases = [
    {
      files: { blob: tampered, root: mdsRoot.certificate.toString("pem") },
      message: /signature that does not verify/,
    },
    {
      files: { blob, root: otherRoot.certificate.toString("pem") },
      message: /does not reach CAREID_WEBAUTHN_MDS_ROOT/,
    },
    { files: { blob: "not a jwt", root: mdsRoot.certificate.toString("pem") }, message: /is not a JWT/ },
    {
      files: { blob, root: "no certificate here" },
      message: /CAREID_WEBAUTHN_MDS_ROOT .* holds no PEM certificate/,
    },
  ];
  for (const { files, message } of cases) {
    const paths = writeFiles(files);
    await assert.rejects(loadAttestationPolicy(settings(paths)), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /CAREID_WEBAUTHN_MDS_(FILE|ROOT)/);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(() => loadConfig({ CAREID_WEBAUTHN_MDS_FILE: "/x" }), /needs CAREID_WEBAUTHN_MDS_ROOT/);
  assert.throws(() => loadConfig({ CAREID_WEBAUTHN_AAGUID_DENY: "yubikey" }), /AAGUIDs like/);
});

test("a chain reaches an anchor through its signatures, or by ending in the anchor's name and key", async () => {
  const root = await makeRoot("Anchor");
  const leaf = await issue(await issue(root, "Intermediate"), "Leaf");
  const [first, second] = leaf.chain as [never, never];
  assert.equal(await chainReachesAnchor([first, second], [root.certificate]), true);
  assert.equal(
    await chainReachesAnchor([first], [root.certificate]),
    false,
    "a missing intermediate breaks it",
  );
  assert.equal(
    await chainReachesAnchor([first, second], [(await makeRoot("Anchor")).certificate]),
    false,
    "same name, other key",
  );
  assert.equal(
    await chainReachesAnchor([root.certificate], [root.certificate]),
    true,
    "a self-signed anchor itself",
  );
  assert.equal(
    await chainReachesAnchor(
      [first, second],
      [root.certificate],
      new Date(Date.now() + 2 * 365 * 86_400_000),
    ),
    false,
    "out of date",
  );
});
