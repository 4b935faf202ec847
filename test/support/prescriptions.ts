import { readFileSync } from "node:fs";
import type { TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { DOMParser, type Element, XMLSerializer } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { openssl, pemFolder, runProgram } from "./pki.ts";

/** The project's sample prescriptions (fictional patients; prescribers from the demo directory). */
export const samplePrescriptions = {
  repeat: readFileSync(new URL("../fixtures/prescriptions/repeat.xml", import.meta.url), "utf8"),
  acute: readFileSync(new URL("../fixtures/prescriptions/acute.xml", import.meta.url), "utf8"),
};

const select = xpath.useNamespaces({ hl7: "urn:hl7-org:v3", ds: "http://www.w3.org/2000/09/xmldsig#" });

/** Edits a prescription through the DOM: `change` gets the nodes the XPath selects. */
export function editPrescription(xml: string, path: string, change: (node: Element) => void): string {
  const document = new DOMParser().parseFromString(xml, "text/xml");
  const nodes = select(path, document as never) as unknown as Element[];
  if (nodes.length === 0) throw new Error(`nothing at ${path}`);
  for (const node of nodes) change(node);
  return new XMLSerializer().serializeToString(document);
}

/** HL7 TS in UTC with its zone, e.g. 20260301093000+0000. */
export function hl7Time(at: Date): string {
  return `${at.toISOString().replace(/[-:T]/g, "").slice(0, 14)}+0000`;
}

/** The prescription as written at `at`: the author time is when the prescriber signs. */
export function prescriptionAt(xml: string, at = new Date()): string {
  return editPrescription(xml, "//hl7:pertinentPrescription/hl7:author/hl7:time", (time) =>
    time.setAttribute("value", hl7Time(at)),
  );
}

/**
 * openssl's own check of a raw prescription signature: RSASSA-PKCS1-v1_5 SHA-256 over the
 * canonical SignedInfo, with the public key openssl reads out of the certificate. Its output.
 */
export async function opensslVerifiesSignedInfo(
  t: TestContext,
  certificateDer: ArrayBuffer | Uint8Array,
  signature: Buffer,
  signedInfo: string,
): Promise<string> {
  const files = pemFolder(t);
  const certificateFile = files.write("signing.pem", certificateDer);
  const publicKeyFile = files.writeRaw(
    "signing-key.pem",
    (await openssl(["x509", "-in", certificateFile, "-noout", "-pubkey"])).output,
  );
  const verified = await openssl([
    "dgst",
    "-sha256",
    "-verify",
    publicKeyFile,
    "-signature",
    files.writeRaw("signature.bin", signature),
    files.writeRaw("signed-info.xml", signedInfo),
  ]);
  return verified.output;
}

/**
 * The independent check of whole signed prescriptions: the JDK's XML Digital Signature API
 * (JSR 105, Apache Santuario) run by test/support/VerifyPrescription.java, which builds
 * FragmentsToBeHashed from its own reading of section 7, checks each Reference digest and
 * signature with the certificate in KeyInfo, and the certificate's chain to `root` through the
 * `intermediates` by the JDK's PKIX. xmlsec1 cannot: it reads a URI-less Reference as the whole
 * document (docs/decisions.md). Its status (0 when every check of every prescription passed) and
 * output, one line per check.
 */
export async function jdkVerifiesPrescriptions(
  t: TestContext,
  signed: string[],
  root: ArrayBuffer | Uint8Array,
  intermediates: Array<ArrayBuffer | Uint8Array>,
): Promise<{ status: number | null; output: string }> {
  const files = pemFolder(t);
  const authorities = [root, ...intermediates].map((der, index) =>
    files.write(`authority-${index}.pem`, der),
  );
  const prescriptions = signed.map((xml, index) => files.writeRaw(`rx-${index}.xml`, xml));
  return runProgram(
    "java",
    [fileURLToPath(new URL("VerifyPrescription.java", import.meta.url)), ...authorities, ...prescriptions],
    // The JVM's own defaults would size its heap from the whole machine's memory.
    { JAVA_TOOL_OPTIONS: "-Xmx256m -XX:TieredStopAtLevel=1" },
  );
}
