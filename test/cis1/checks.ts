import assert from "node:assert/strict";
import type { TestContext } from "node:test";
import type { Db } from "../../src/store/database.ts";
import { pemFolder, runProgram } from "../support/pki.ts";

/** The SAML 1.1 protocol schema kept in the repository (it imports the assertion schema beside it). */
export const protocolSchema = new URL(
  "../../src/cis1/schemas/oasis-sstc-saml-schema-protocol-1.1.xsd",
  import.meta.url,
).pathname;

/** xmllint (libxml2) validates a response against the OASIS schemas, offline. */
export async function assertSchemaValid(t: TestContext, xml: string): Promise<void> {
  const file = pemFolder(t).writeRaw("response.xml", xml);
  const checked = await runProgram("xmllint", ["--noout", "--nonet", "--schema", protocolSchema, file]);
  assert.equal(checked.status, 0, checked.output);
  assert.match(checked.output, /validates/);
}

/** xmlsec1 verifies the assertion's signature, trusting only our root CA (the chain is in KeyInfo). */
export async function verifySignature(
  t: TestContext,
  xml: string,
  rootDer: Uint8Array,
): Promise<{ status: number | null; output: string }> {
  const files = pemFolder(t);
  const root = files.write("root.pem", rootDer);
  const file = files.writeRaw("signed.xml", xml);
  return runProgram("xmlsec1", [
    "--verify",
    "--trusted-pem",
    root,
    "--id-attr:AssertionID",
    "urn:oasis:names:tc:SAML:1.0:assertion:Assertion",
    file,
  ]);
}

/** Waits for an audit event (the agent reports asynchronously; delivery workers run apart). */
export async function auditEventAppears(db: Db, action: string, subject?: string): Promise<boolean> {
  for (let attempt = 0; attempt < 100; attempt++) {
    let query = db.selectFrom("audit_events").select("seq").where("action", "=", action);
    if (subject) query = query.where("subject_id", "=", subject);
    if (await query.executeTakeFirst()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}
