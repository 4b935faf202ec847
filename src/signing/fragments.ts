import { createHash } from "node:crypto";
import { DOMImplementation, type Element, type Node } from "@xmldom/xmldom";
import * as xpath from "xpath";
import { canonicalise, hl7Namespace, MalformedXmlError, parseXml } from "./xml-dsig.ts";

/**
 * What a prescriber signs (domain reference, section 7): not the whole message but
 * `<FragmentsToBeHashed>` holding, each in its own `<Fragment>` and in this order, the author's
 * time with the prescription id, the AgentPerson, the recordTarget, and every pertinentLineItem
 * without its `repeatNumber/low` and its status. Those two change as a repeat is dispensed, and
 * a signature must survive that. Whitespace-only text between elements is dropped, so a
 * re-indented prescription keeps its signature; comments are never part of exclusive C14N.
 */
export type Fragments = { canonical: string; digest: Buffer };

const select = xpath.useNamespaces({ hl7: hl7Namespace });
const prescriptionPath = "/hl7:ParentPrescription/hl7:pertinentInformation1/hl7:pertinentPrescription";

export function fragmentsToBeHashed(
  prescription: string | Element,
  hash: "sha256" | "sha1" = "sha256",
): Fragments {
  const root = typeof prescription === "string" ? parseXml(prescription, "The prescription") : prescription;
  const document = new DOMImplementation().createDocument(null, "FragmentsToBeHashed");
  const wrapper = document.documentElement as Element;
  const fragment = (...nodes: Node[]) => {
    const element = document.createElement("Fragment");
    for (const node of nodes) element.appendChild(withoutLayout(document.importNode(node, true)));
    wrapper.appendChild(element);
  };
  fragment(one(root, `${prescriptionPath}/hl7:author/hl7:time`), one(root, `${prescriptionPath}/hl7:id[1]`));
  fragment(one(root, `${prescriptionPath}/hl7:author/hl7:AgentPerson`));
  fragment(one(root, "/hl7:ParentPrescription/hl7:recordTarget"));
  const lineItems = all(root, `${prescriptionPath}/hl7:pertinentInformation2/hl7:pertinentLineItem`);
  if (lineItems.length === 0) throw new MalformedXmlError("The prescription has no pertinentLineItem");
  for (const item of lineItems) {
    const copy = document.importNode(item, true) as Element;
    for (const changing of all(copy, "hl7:repeatNumber/hl7:low | hl7:*[hl7:pertinentItemStatus]"))
      changing.parentNode?.removeChild(changing);
    fragment(copy);
  }
  const canonical = canonicalise(wrapper);
  return { canonical, digest: createHash(hash).update(canonical, "utf8").digest() };
}

function one(context: Node, path: string): Element {
  const found = all(context, path);
  if (found.length !== 1)
    throw new MalformedXmlError(
      `The prescription must have exactly one ${path.split("/").at(-1)?.replace("hl7:", "")} (${path}); it has ${found.length}`,
    );
  return found[0] as Element;
}

function all(context: Node, path: string): Element[] {
  return select(path, context as never) as unknown as Element[];
}

/** Drops whitespace-only text between elements: layout, not content. */
function withoutLayout<T extends Node>(node: T): T {
  for (const child of Array.from(node.childNodes ?? [])) {
    if (child.nodeType === 3 && /^\s*$/.test(child.nodeValue ?? "") && node.childNodes.length > 1)
      node.removeChild(child);
    else withoutLayout(child);
  }
  return node;
}
