import { DOMParser, type Element } from "@xmldom/xmldom";
import * as xpath from "xpath";

/**
 * A legacy CIS1 application's whole integration, as an integrator writes it: ask the
 * workstation's Identity Agent for a ticket, then ask the service for the user's roles with it
 * and read the SAML 1.1 assertion with an ordinary XML library (xmldom and xpath).
 */
export type Cis1Position = {
  odsCode: string;
  organisation: string;
  jobRole: string;
  jobRoleCode: string;
  roleProfileId: string;
  activityCodes: string[];
  workgroupCodes: string[];
  areaOfWorkCodes: string[];
};

export type Cis1User = {
  uid: string;
  name: string;
  nameIdentifier: string;
  selectedRole: string | undefined;
  mode: string | undefined;
  positions: Cis1Position[];
  validUntil: string;
};

export class Cis1Failure extends Error {}

/** POST to the agent's Ticket API; `getTicket` may wait while the user signs in with their card. */
export async function getTicket(
  agentUrl: string,
  call: "getTicket" | "getTicketNoAuth" = "getTicket",
  waitSeconds = 120,
): Promise<string> {
  const response = await fetch(`${agentUrl}/ticket/${call}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(call === "getTicket" ? { waitSeconds } : {}),
  });
  const body = (await response.json()) as { ticket?: string; detail?: string };
  if (!response.ok || !body.ticket)
    throw new Cis1Failure(body.detail ?? `the agent answered ${response.status}`);
  return body.ticket;
}

/** GET /saml/RoleAssertion?token=..., the assertion's attributes read back into plain data. */
export async function roleAssertion(
  serviceUrl: string,
  ticket: string,
): Promise<{ user: Cis1User; xml: string }> {
  const response = await fetch(`${serviceUrl}/saml/RoleAssertion?token=${encodeURIComponent(ticket)}`);
  const xml = await response.text();
  const document = new DOMParser().parseFromString(xml, "text/xml");
  const select = xpath.useNamespaces({
    samlp: "urn:oasis:names:tc:SAML:1.0:protocol",
    saml: "urn:oasis:names:tc:SAML:1.0:assertion",
  });
  const value = (path: string) => {
    const found = select(`string(${path})`, document);
    return typeof found === "string" ? found : "";
  };
  if (value("/samlp:Response/samlp:Status/samlp:StatusCode/@Value") !== "samlp:Success")
    throw new Cis1Failure(
      value("/samlp:Response/samlp:Status/samlp:StatusMessage") || `HTTP ${response.status}`,
    );
  // Attributes in document order: the person's first, then one block per position, each
  // beginning with nhsIdCode.
  const attributes = (select("//saml:AttributeStatement/saml:Attribute", document) as Element[]).map(
    (attribute) => ({
      name: attribute.getAttribute("AttributeName") ?? "",
      values: Array.from(
        attribute.getElementsByTagNameNS("urn:oasis:names:tc:SAML:1.0:assertion", "AttributeValue"),
      ).map((element) => element.textContent ?? ""),
    }),
  );
  const person = new Map<string, string[]>();
  const blocks: Array<Map<string, string[]>> = [];
  for (const attribute of attributes) {
    if (attribute.name === "nhsIdCode") blocks.push(new Map());
    (blocks.at(-1) ?? person).set(attribute.name, attribute.values);
  }
  const first = (map: Map<string, string[]>, name: string) => map.get(name)?.[0];
  return {
    xml,
    user: {
      uid: first(person, "uid") ?? "",
      name: first(person, "cn") ?? "",
      nameIdentifier: value("//saml:AttributeStatement/saml:Subject/saml:NameIdentifier"),
      selectedRole: first(person, "ssbSessionRoleUid"),
      mode: first(person, "ssbMode"),
      validUntil: value("//saml:Assertion/saml:Conditions/@NotOnOrAfter"),
      positions: blocks.map((block) => ({
        odsCode: first(block, "nhsIdCode") ?? "",
        organisation: first(block, "o") ?? "",
        jobRole: first(block, "nhsJobRole") ?? "",
        jobRoleCode: first(block, "nhsJobRoleCode") ?? "",
        roleProfileId: first(block, "uniqueIdentifier") ?? "",
        activityCodes: block.get("nhsBusinessFunctionsCodes") ?? [],
        workgroupCodes: block.get("nhsWorkGroupsCodes") ?? [],
        areaOfWorkCodes: block.get("nhsAreaOfWorkCodes") ?? [],
      })),
    },
  };
}

/** The user's roles as the example prints them, the selected one marked. */
export function describeRoles(user: Cis1User): string {
  return [
    `${user.name} (${user.uid})`,
    ...user.positions.map(
      (position) =>
        `${position.roleProfileId === user.selectedRole ? "*" : " "} ${position.jobRole} (${position.jobRoleCode}) at ${position.organisation} (${position.odsCode}), role ${position.roleProfileId}`,
    ),
  ].join("\n");
}
