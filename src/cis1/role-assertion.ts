import { randomBytes } from "node:crypto";
import { DOMImplementation, type Element, XMLSerializer } from "@xmldom/xmldom";
import type { Person } from "../people/people.ts";
import type { Position } from "../rbac/positions.ts";

/**
 * The SAML 1.1 role assertion of the Spine Security Broker, built as a DOM (never a string
 * template), so every value is escaped and the shape follows the OASIS schemas: a
 * `samlp:Response` holding one `saml:Assertion` valid about three minutes either side of issue,
 * whose subject is `uid=UUID,ou=People,o=nhs` confirmed by the SSO token, and whose attributes
 * in the `http://www.syntegra.com` namespace carry the person, the session's role and one block
 * per position. Empty attributes are left out.
 */
export const samlpNamespace = "urn:oasis:names:tc:SAML:1.0:protocol";
export const samlNamespace = "urn:oasis:names:tc:SAML:1.0:assertion";
export const attributeNamespace = "http://www.syntegra.com";
const bearer = "urn:oasis:names:tc:SAML:1.0:cm:bearer";
/** The validity either side of the issue instant. */
const skewMilliseconds = 3 * 60_000;

export type RoleAssertionContent = {
  issuer: string;
  token: string;
  person: Person;
  /** The holder's current positions, one attribute block each. */
  positions: Position[];
  selectedRole: string | null;
  /** 0 live, 1 training. */
  mode: 0 | 1;
  now: Date;
};

export type BuiltResponse = { xml: string; assertionId: string };

export function roleAssertionResponse(content: RoleAssertionContent): BuiltResponse {
  const { document, response } = newResponse(content.now);
  status(response, "samlp:Success");
  const assertionId = newId();
  const assertion = child(response, samlNamespace, "saml:Assertion", {
    AssertionID: assertionId,
    Issuer: content.issuer,
    IssueInstant: instant(content.now),
    MajorVersion: "1",
    MinorVersion: "1",
  });
  child(assertion, samlNamespace, "saml:Conditions", {
    NotBefore: instant(new Date(content.now.getTime() - skewMilliseconds)),
    NotOnOrAfter: instant(new Date(content.now.getTime() + skewMilliseconds)),
  });
  const statement = child(assertion, samlNamespace, "saml:AttributeStatement");
  const subject = child(statement, samlNamespace, "saml:Subject");
  text(child(subject, samlNamespace, "saml:NameIdentifier"), `uid=${content.person.uuid},ou=People,o=nhs`);
  const confirmation = child(subject, samlNamespace, "saml:SubjectConfirmation");
  text(child(confirmation, samlNamespace, "saml:ConfirmationMethod"), bearer);
  text(child(confirmation, samlNamespace, "saml:SubjectConfirmationData"), content.token);
  for (const [name, values] of attributes(content)) {
    const present = values.filter((value) => value !== "");
    if (present.length === 0) continue;
    const attribute = child(statement, samlNamespace, "saml:Attribute", {
      AttributeName: name,
      AttributeNamespace: attributeNamespace,
    });
    for (const value of present) text(child(attribute, samlNamespace, "saml:AttributeValue"), value);
  }
  return { xml: serialise(document), assertionId };
}

/** A response that refuses, with the SAML 1.1 status a requester's fault calls for, and why. */
export function refusalResponse(message: string, now: Date): string {
  const { document, response } = newResponse(now);
  const statusElement = status(response, "samlp:Requester", "samlp:RequestDenied");
  text(child(statusElement, samlpNamespace, "samlp:StatusMessage"), message);
  return serialise(document);
}

/** The attributes in the Security Broker's order: the person and session, then each position. */
function attributes(content: RoleAssertionContent): Array<[string, string[]]> {
  const { person } = content;
  const list: Array<[string, string[]]> = [
    ["ssbAssertionVersion", ["1.1"]],
    ["cn", [commonName(person)]],
    ["uid", [person.uuid]],
    ["nhsOcsPrCode", person.registrations.slice(0, 1).map((registration) => registration.number)],
    ["ssbSessionRoleUid", content.selectedRole ? [content.selectedRole] : []],
    ["ssbMode", [String(content.mode)]],
  ];
  for (const position of content.positions)
    list.push(
      ["nhsIdCode", [position.odsCode]],
      ["o", [position.organisationName]],
      ["nhsJobRole", [position.jobRole.name]],
      ["nhsJobRoleCode", [position.jobRole.code]],
      ["nhsAreaOfWork", position.areasOfWork.map((area) => area.name)],
      ["nhsAreaOfWorkCodes", position.areasOfWork.map((area) => area.code)],
      ["nhsWorkGroups", position.workgroups.map((workgroup) => workgroup.name)],
      ["nhsWorkGroupsCodes", position.workgroups.map((workgroup) => workgroup.id)],
      ["nhsBusinessFunctions", position.activities.map((activity) => activity.name)],
      ["nhsBusinessFunctionsCodes", position.activities.map((activity) => activity.code)],
      ["uniqueIdentifier", [position.roleProfileId]],
    );
  return list;
}

/** The cn our LDAP directory gives the person (directory/ldap/people-entries.ts): "Family Given Title". */
function commonName(person: Person): string {
  return [person.familyName, person.givenName, person.title].filter(Boolean).join(" ");
}

function newResponse(now: Date) {
  const document = new DOMImplementation().createDocument(samlpNamespace, "samlp:Response", null);
  const response = document.documentElement as Element;
  response.setAttributeNS("http://www.w3.org/2000/xmlns/", "xmlns:saml", samlNamespace);
  for (const [name, value] of Object.entries({
    ResponseID: newId(),
    IssueInstant: instant(now),
    MajorVersion: "1",
    MinorVersion: "1",
  }))
    response.setAttribute(name, value);
  return { document, response };
}

function status(response: Element, code: string, subcode?: string): Element {
  const statusElement = child(response, samlpNamespace, "samlp:Status");
  const codeElement = child(statusElement, samlpNamespace, "samlp:StatusCode", { Value: code });
  if (subcode) child(codeElement, samlpNamespace, "samlp:StatusCode", { Value: subcode });
  return statusElement;
}

function child(parent: Element, namespace: string, name: string, attributes: Record<string, string> = {}) {
  const element = (parent.ownerDocument as NonNullable<Element["ownerDocument"]>).createElementNS(
    namespace,
    name,
  );
  for (const [attribute, value] of Object.entries(attributes)) element.setAttribute(attribute, value);
  parent.appendChild(element);
  return element;
}

function text(element: Element, value: string): void {
  element.appendChild((element.ownerDocument as NonNullable<Element["ownerDocument"]>).createTextNode(value));
}

/** SAML 1.1 IDs are xs:ID (an NCName): a leading underscore, then 128 random bits in hex. */
function newId(): string {
  return `_${randomBytes(16).toString("hex")}`;
}

/** UTC to the second, as SAML 1.1 processors expect. */
function instant(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}

function serialise(document: ReturnType<DOMImplementation["createDocument"]>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>${new XMLSerializer().serializeToString(document)}`;
}
