import { DOMParser, type Element } from "@xmldom/xmldom";
import { ExclusiveCanonicalization } from "xml-crypto";

/** The XML-DSig names a prescription signature uses (domain reference, section 7). */
export const dsigNamespace = "http://www.w3.org/2000/09/xmldsig#";
export const hl7Namespace = "urn:hl7-org:v3";
export const exclusiveC14n = "http://www.w3.org/2001/10/xml-exc-c14n#";
export const sha256Digest = "http://www.w3.org/2001/04/xmlenc#sha256";
export const sha1Digest = "http://www.w3.org/2000/09/xmldsig#sha1";
export const rsaSha256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
/** Legacy: verified only where configuration allows it, never made. */
export const rsaSha1 = "http://www.w3.org/2000/09/xmldsig#rsa-sha1";

/** Node's name for the hash of each signature and digest method this service understands. */
export const hashOf: Record<string, "sha256" | "sha1"> = {
  [rsaSha256]: "sha256",
  [rsaSha1]: "sha1",
  [sha256Digest]: "sha256",
  [sha1Digest]: "sha1",
};

export class MalformedXmlError extends Error {}

/**
 * Parses XML with a real parser and refuses what it must not guess at: any parse error or
 * warning, and a DOCTYPE (entities could change what is signed without changing the bytes read).
 */
export function parseXml(text: string, what: string): Element {
  const problems: string[] = [];
  const document = new DOMParser({
    onError: (level, message) => {
      if (level !== "warning" || problems.length === 0) problems.push(String(message).split("\n")[0] ?? "");
    },
  }).parseFromString(text, "text/xml");
  if (problems.length > 0) throw new MalformedXmlError(`${what} is not well-formed XML: ${problems[0]}`);
  if (document.doctype) throw new MalformedXmlError(`${what} must not carry a DOCTYPE`);
  const root = document.documentElement;
  if (!root) throw new MalformedXmlError(`${what} has no root element`);
  return root;
}

/** Exclusive XML canonicalisation (without comments) of an element and its descendants. */
export function canonicalise(element: Element): string {
  return new ExclusiveCanonicalization().process(element as never, {});
}
