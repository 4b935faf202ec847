import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { demoLdapServer, ldapsearch } from "../../../test/support/ldap.ts";
import { leftOut } from "../../../test/support/prerequisites.ts";

test("with a certificate configured, ldapsearch reads the directory over LDAPS", async (t) => {
  if (leftOut(t, "ldap")) return;
  const dir = mkdtempSync(join(tmpdir(), "careid-ldaps-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: "ignore" },
  );
  const { server } = await demoLdapServer(t, { tls: { certFile, keyFile, port: 0 } });
  assert.match(String(server.secureUrl), /^ldaps:\/\/127\.0\.0\.1:\d+$/);
  process.env.LDAPTLS_CACERT = certFile;
  t.after(() => {
    delete process.env.LDAPTLS_CACERT;
  });
  const secure = await ldapsearch(String(server.secureUrl), "ou=Organisations,o=nhs", [
    "(uniqueIdentifier=RZZ)",
    "o",
  ]);
  assert.equal(secure.code, 0, secure.stderr);
  assert.equal(secure.entries.length, 1);
  assert.deepEqual(secure.entries[0]?.attributes.o, ["Ashcombe and Wexley Hospitals NHS Trust"]);
  const plain = await ldapsearch(server.url, "ou=Organisations,o=nhs", ["(uniqueIdentifier=RZZ)", "o"]);
  assert.deepEqual(plain.entries, secure.entries, "the same answer over LDAP and LDAPS");
});
