import { sql } from "kysely";
import type { AccreditedSystemsTable, MessagingEndpointsTable } from "../../store/schema.ts";
import { classAttributes } from "./attributes.ts";
import { escapeDnValue } from "./dn.ts";
import { makeEntry, valuesOf } from "./entry.ts";
import { afterCursor, type EntrySource, inList, readRows, upper } from "./source.ts";

/**
 * ou=Services: the accredited systems registry as SDS publishes it. Each accredited system is
 * an nhsAs named by its ASID; each messaging endpoint an nhsMhs named by its id.
 */

const servicesPath = [
  { type: "o", value: "nhs" },
  { type: "ou", value: "Services" },
];

type SystemRow = Omit<AccreditedSystemsTable, "created_at">;

export const accreditedSystemSource: EntrySource = {
  name: "nhsAs",
  path: [...servicesPath, { type: "uniqueIdentifier", key: "asid" }],
  objectClasses: ["top", "nhsAs"],
  attributes: classAttributes("nhsAs"),
  narrowing: { uniqueidentifier: "asid", nhsidcode: "odsCode", nhsmhspartykey: "partyKey" },
  async read(db, keys, after, limit) {
    const rows = await readRows(
      db,
      sql<SystemRow>`
      SELECT asid, ods_code, manufacturer_ods_code, product_key, product_name, product_version, party_key, interactions
      FROM accredited_systems
      WHERE ${inList("asid", keys.get("asid"))}
        AND ${inList("ods_code", upper(keys.get("odsCode")))}
        AND ${inList("party_key", upper(keys.get("partyKey")))}
        AND ${afterCursor("asid", after)}
      ORDER BY asid LIMIT ${limit}`,
    );
    return rows.map((row) =>
      makeEntry(`uniqueIdentifier=${escapeDnValue(row.asid)},ou=Services,o=nhs`, {
        objectClass: ["top", "nhsAs"],
        uniqueIdentifier: row.asid,
        nhsIDCode: row.ods_code,
        nhsAsClient: row.ods_code,
        nhsMhsPartyKey: row.party_key,
        nhsAsSvcIA: row.interactions,
        nhsMhsManufacturerOrg: row.manufacturer_ods_code,
        nhsProductKey: row.product_key,
        nhsProductName: row.product_name,
        nhsProductVersion: row.product_version,
      }),
    );
  },
  cursor: (entry) => valuesOf(entry, "uniqueIdentifier")?.[0] ?? "",
};

type EndpointRow = Omit<MessagingEndpointsTable, "created_at">;

export const messagingEndpointSource: EntrySource = {
  name: "nhsMhs",
  path: [...servicesPath, { type: "uniqueIdentifier", key: "id" }],
  objectClasses: ["top", "nhsMhs"],
  attributes: classAttributes("nhsMhs"),
  narrowing: { uniqueidentifier: "id", nhsidcode: "odsCode", nhsmhspartykey: "partyKey" },
  async read(db, keys, after, limit) {
    const rows = await readRows(
      db,
      sql<EndpointRow>`
      SELECT id, ods_code, party_key, interaction, cpa_id, fqdn, endpoint_url, sync_reply_mode, retry_interval,
        retries, persist_duration, duplicate_elimination, ack_requested, actor, is_authenticated
      FROM messaging_endpoints
      WHERE ${inList("id", keys.get("id"))}
        AND ${inList("ods_code", upper(keys.get("odsCode")))}
        AND ${inList("party_key", upper(keys.get("partyKey")))}
        AND ${afterCursor("id", after)}
      ORDER BY id LIMIT ${limit}`,
    );
    return rows.map((row) =>
      makeEntry(`uniqueIdentifier=${escapeDnValue(row.id)},ou=Services,o=nhs`, {
        objectClass: ["top", "nhsMhs"],
        uniqueIdentifier: row.id,
        nhsIDCode: row.ods_code,
        nhsMhsPartyKey: row.party_key,
        nhsMhsSvcIA: row.interaction,
        nhsMhsCPAId: row.cpa_id,
        nhsMHSEndPoint: row.endpoint_url,
        nhsMhsFQDN: row.fqdn,
        nhsMHSSyncReplyMode: row.sync_reply_mode,
        nhsMHSRetryInterval: row.retry_interval,
        nhsMHSRetries: String(row.retries),
        nhsMHSPersistDuration: row.persist_duration,
        nhsMHSDuplicateElimination: row.duplicate_elimination,
        nhsMHSAckRequested: row.ack_requested,
        nhsMHSActor: row.actor,
        // LDAP's Boolean syntax spells its values in capitals (RFC 4517 section 3.3.3).
        nhsMhsIsAuthenticated: row.is_authenticated ? "TRUE" : "FALSE",
      }),
    );
  },
  cursor: (entry) => valuesOf(entry, "uniqueIdentifier")?.[0] ?? "",
};
