import { createSign } from "node:crypto";
import { DOMImplementation, type Element, XMLSerializer } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { fragmentsToBeHashed } from "./fragments.ts";
import { signedInfoFor } from "./signed-info.ts";
import { dsigNamespace, hl7Namespace, MalformedXmlError, parseXml } from "./xml-dsig.ts";

/**
 * A prescription's signing in three steps, so the private key may sit anywhere (a card behind
 * the agent, the remote signing service): `prepareSignature` gives the canonical SignedInfo to
 * sign, the key holder returns RSASSA-PKCS1-v1_5 over it, and `signedPrescription` puts the
 * `<Signature>` (SignedInfo, SignatureValue, the signing certificate) in the author's
 * `signatureText`.
 */
export type PreparedSignature = { signedInfo: string; fragmentsDigest: string };

export function prepareSignature(prescription: string): PreparedSignature {
  const fragments = fragmentsToBeHashed(prescription);
  return {
    signedInfo: signedInfoFor(fragments.digest).canonical,
    fragmentsDigest: fragments.digest.toString("base64"),
  };
}

/** The `<Signature>` element's XML from the canonical SignedInfo, the signature and the certificate (DER). */
export function signatureElement(
  signedInfo: string,
  signatureValue: Buffer,
  certificate: Uint8Array,
): Element {
  const document = new DOMImplementation().createDocument(dsigNamespace, "Signature");
  const signature = document.documentElement as Element;
  signature.appendChild(document.importNode(parseXml(signedInfo, "The SignedInfo"), true));
  const value = document.createElementNS(dsigNamespace, "SignatureValue");
  value.appendChild(document.createTextNode(signatureValue.toString("base64")));
  signature.appendChild(value);
  const keyInfo = document.createElementNS(dsigNamespace, "KeyInfo");
  const data = document.createElementNS(dsigNamespace, "X509Data");
  const x509 = document.createElementNS(dsigNamespace, "X509Certificate");
  x509.appendChild(document.createTextNode(Buffer.from(certificate).toString("base64")));
  data.appendChild(x509);
  keyInfo.appendChild(data);
  signature.appendChild(keyInfo);
  return signature;
}

/** The prescription with the signature in `author/signatureText`, replacing whatever was there. */
export function signedPrescription(
  prescription: string,
  signedInfo: string,
  signatureValue: Buffer,
  certificate: Uint8Array,
): string {
  const root = parseXml(prescription, "The prescription");
  const select = xpath.useNamespaces({ hl7: hl7Namespace });
  const [text] = select(
    "/hl7:ParentPrescription/hl7:pertinentInformation1/hl7:pertinentPrescription/hl7:author/hl7:signatureText",
    root as never,
  ) as unknown as Element[];
  if (!text)
    throw new MalformedXmlError("The prescription has no author/signatureText to hold the signature");
  while (text.firstChild) text.removeChild(text.firstChild);
  text.removeAttribute("nullFlavor");
  const document = root.ownerDocument;
  if (!document) throw new MalformedXmlError("The prescription has no document");
  text.appendChild(document.importNode(signatureElement(signedInfo, signatureValue, certificate), true));
  return new XMLSerializer().serializeToString(document);
}

/** RSASSA-PKCS1-v1_5 with SHA-256 over the canonical SignedInfo, by a key held here (PEM or KeyObject). */
export function signSignedInfo(
  signedInfo: string,
  privateKey: Parameters<ReturnType<typeof createSign>["sign"]>[0],
): Buffer {
  return createSign("sha256").update(signedInfo, "utf8").sign(privateKey);
}
