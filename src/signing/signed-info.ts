import { DOMImplementation, type Element } from "@xmldom/xmldom";
import { canonicalise, dsigNamespace, exclusiveC14n, rsaSha256, sha256Digest } from "./xml-dsig.ts";

/**
 * The `SignedInfo` a prescriber signs: exclusive C14N, rsa-sha256, and one `Reference` with no
 * URI (the verifier knows the object: the prescription's fragments), an exc-c14n transform and
 * the SHA-256 digest of the canonical fragments. What is signed is its canonical form.
 */
export function signedInfoFor(fragmentsDigest: Buffer): { element: Element; canonical: string } {
  const document = new DOMImplementation().createDocument(dsigNamespace, "SignedInfo");
  const signedInfo = document.documentElement as Element;
  const child = (parent: Element, name: string, algorithm?: string) => {
    const element = document.createElementNS(dsigNamespace, name);
    if (algorithm) element.setAttribute("Algorithm", algorithm);
    parent.appendChild(element);
    return element;
  };
  child(signedInfo, "CanonicalizationMethod", exclusiveC14n);
  child(signedInfo, "SignatureMethod", rsaSha256);
  const reference = child(signedInfo, "Reference");
  child(child(reference, "Transforms"), "Transform", exclusiveC14n);
  child(reference, "DigestMethod", sha256Digest);
  child(reference, "DigestValue").appendChild(document.createTextNode(fragmentsDigest.toString("base64")));
  return { element: signedInfo, canonical: canonicalise(signedInfo) };
}
