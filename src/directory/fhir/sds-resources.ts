import type { AccreditedSystem } from "../systems/accredited-systems.ts";
import type { MessagingEndpoint } from "../systems/messaging-endpoints.ts";
import { extensions, systems } from "./identifier-systems.ts";

function interactionExtension(interaction: string) {
  return {
    url: extensions.serviceInteractionId,
    valueReference: { identifier: { system: systems.serviceInteractionId, value: interaction } },
  };
}

function odsReference(odsCode: string) {
  return { identifier: { system: systems.odsOrganisationCode, value: odsCode } };
}

/** An accredited system as an SDS Device: its ASID is the id and the nhsSpineASID identifier. */
export function device(system: AccreditedSystem) {
  return {
    resourceType: "Device",
    id: system.asid,
    extension: [
      { url: extensions.manufacturingOrganisation, valueReference: odsReference(system.manufacturerOdsCode) },
      ...system.interactions.map(interactionExtension),
    ],
    identifier: [
      { system: systems.spineAsid, value: system.asid },
      { system: systems.mhsPartyKey, value: system.partyKey },
    ],
    deviceName: [{ name: system.productName, type: "model-name" }],
    modelNumber: system.productKey,
    ...(system.productVersion ? { version: [{ value: system.productVersion }] } : {}),
    owner: odsReference(system.odsCode),
  };
}

/** A messaging endpoint as an SDS Endpoint, with its MHS identifiers and reliability settings. */
export function endpoint(mhs: MessagingEndpoint) {
  const { reliability } = mhs;
  return {
    resourceType: "Endpoint",
    id: mhs.id,
    extension: [
      {
        url: extensions.reliabilityConfiguration,
        extension: [
          { url: "nhsMHSSyncReplyMode", valueString: reliability.syncReplyMode },
          { url: "nhsMHSRetryInterval", valueString: reliability.retryInterval },
          { url: "nhsMHSRetries", valueInteger: reliability.retries },
          { url: "nhsMHSPersistDuration", valueString: reliability.persistDuration },
          { url: "nhsMHSDuplicateElimination", valueString: reliability.duplicateElimination },
          { url: "nhsMHSAckRequested", valueString: reliability.ackRequested },
          { url: "nhsMHSActor", valueString: reliability.actor },
        ],
      },
      interactionExtension(mhs.interaction),
    ],
    identifier: [
      { system: systems.mhsFqdn, value: mhs.fqdn },
      { system: systems.mhsPartyKey, value: mhs.partyKey },
      { system: systems.mhsCpaId, value: mhs.cpaId },
      { system: systems.mhsId, value: mhs.id },
    ],
    status: "active",
    connectionType: {
      system: systems.endpointConnectionType,
      code: "hl7-fhir-msg",
      display: "HL7 FHIR Messaging",
    },
    payloadType: [{ coding: [{ system: systems.endpointPayloadType, code: "any", display: "Any" }] }],
    address: mhs.address,
    managingOrganization: odsReference(mhs.odsCode),
  };
}
