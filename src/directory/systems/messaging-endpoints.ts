import type { Selectable } from "kysely";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { ConflictError, Problems } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import { nextIdentifier } from "../../store/identifiers.ts";
import type { MessagingEndpointsTable } from "../../store/schema.ts";
import {
  checkChoice,
  checkDuration,
  checkInteraction,
  checkOdsCode,
  checkPartyKey,
  checkText,
} from "./checks.ts";
import { type EntryKind, readEntry, removeEntry, requireOwner } from "./entries.ts";

const syncReplyModes = ["MSHSignalsOnly", "SignalsOnly", "None"] as const;
const alwaysOrNever = ["always", "never"] as const;
const actors = [
  "urn:oasis:names:tc:ebxml-msg:actor:toPartyMSH",
  "urn:oasis:names:tc:ebxml-msg:actor:nextMSH",
] as const;

/** How the MHS delivers one interaction reliably; the defaults are Spine's usual settings. */
export type Reliability = {
  syncReplyMode: (typeof syncReplyModes)[number];
  retryInterval: string;
  retries: number;
  persistDuration: string;
  duplicateElimination: (typeof alwaysOrNever)[number];
  ackRequested: (typeof alwaysOrNever)[number];
  actor: string;
};

/**
 * A messaging endpoint (the directory's nhsMhs): where one party key receives one interaction,
 * under its own CPA id, with its reliability settings.
 */
export type MessagingEndpoint = {
  id: string;
  odsCode: string;
  partyKey: string;
  interaction: string;
  cpaId: string;
  fqdn: string;
  address: string;
  reliability: Reliability;
  isAuthenticated: boolean;
};

const messagingEndpoint: EntryKind = {
  subject: "messaging-endpoint",
  field: "id",
  words: "a messaging endpoint",
};

export type NewMessagingEndpoint = {
  odsCode?: unknown;
  partyKey?: unknown;
  interaction?: unknown;
  cpaId?: unknown;
  fqdn?: unknown;
  address?: unknown;
  reliability?: Partial<Record<keyof Reliability, unknown>>;
  isAuthenticated?: unknown;
};

function checkEndpoint(input: NewMessagingEndpoint): Omit<MessagingEndpoint, "id"> {
  const problems = new Problems();
  const fqdn = checkText(problems, "fqdn", input.fqdn, true) ?? "";
  if (fqdn && !/^(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}$/.test(fqdn))
    problems.add("fqdn", "must be a fully qualified domain name");
  const address = checkText(problems, "address", input.address, true) ?? "";
  if (address && !URL.canParse(address)) problems.add("address", "must be an absolute URL");
  else if (address && !["https:", "http:"].includes(new URL(address).protocol))
    problems.add("address", "must be an http or https URL");
  const given = input.reliability ?? {};
  const retries = given.retries ?? 2;
  if (!Number.isInteger(retries) || (retries as number) < 0 || (retries as number) > 100)
    problems.add("reliability.retries", "must be a whole number from 0 to 100");
  const endpoint = {
    odsCode: checkOdsCode(problems, "odsCode", input.odsCode),
    partyKey: checkPartyKey(problems, "partyKey", input.partyKey),
    interaction: checkInteraction(problems, "interaction", input.interaction),
    cpaId: checkText(problems, "cpaId", input.cpaId, true) ?? "",
    fqdn,
    address,
    reliability: {
      syncReplyMode: checkChoice(
        problems,
        "reliability.syncReplyMode",
        given.syncReplyMode,
        syncReplyModes,
        "MSHSignalsOnly",
      ),
      retryInterval: checkDuration(problems, "reliability.retryInterval", given.retryInterval, "PT1M"),
      retries: retries as number,
      persistDuration: checkDuration(problems, "reliability.persistDuration", given.persistDuration, "PT5M"),
      duplicateElimination: checkChoice(
        problems,
        "reliability.duplicateElimination",
        given.duplicateElimination,
        alwaysOrNever,
        "always",
      ),
      ackRequested: checkChoice(
        problems,
        "reliability.ackRequested",
        given.ackRequested,
        alwaysOrNever,
        "always",
      ),
      actor: checkChoice(problems, "reliability.actor", given.actor, actors, actors[0]),
    },
    isAuthenticated: input.isAuthenticated === undefined ? true : input.isAuthenticated === true,
  };
  if (input.isAuthenticated !== undefined && typeof input.isAuthenticated !== "boolean")
    problems.add("isAuthenticated", "must be true or false");
  problems.throwIfAny();
  return endpoint;
}

export async function addMessagingEndpoint(
  queryable: Queryable,
  actor: Actor,
  input: NewMessagingEndpoint,
): Promise<MessagingEndpoint> {
  const checked = checkEndpoint(input);
  return inTransaction(queryable, async (tx) => {
    await requireOwner(tx, checked.odsCode);
    const clash = await tx
      .selectFrom("messaging_endpoints")
      .select(["id", "cpa_id", "party_key"])
      .where((eb) =>
        eb.or([
          eb("cpa_id", "=", checked.cpaId),
          eb.and([eb("party_key", "=", checked.partyKey), eb("interaction", "=", checked.interaction)]),
        ]),
      )
      .executeTakeFirst();
    if (clash?.cpa_id === checked.cpaId)
      throw new ConflictError(`cpaId: ${checked.cpaId} is already used by endpoint ${clash.id}`, "cpaId");
    if (clash)
      throw new ConflictError(
        `interaction: ${checked.partyKey} already has endpoint ${clash.id} for ${checked.interaction}`,
        "interaction",
      );
    const endpoint: MessagingEndpoint = { id: await nextIdentifier(tx), ...checked };
    const { reliability } = endpoint;
    await tx
      .insertInto("messaging_endpoints")
      .values({
        id: endpoint.id,
        ods_code: endpoint.odsCode,
        party_key: endpoint.partyKey,
        interaction: endpoint.interaction,
        cpa_id: endpoint.cpaId,
        fqdn: endpoint.fqdn,
        endpoint_url: endpoint.address,
        sync_reply_mode: reliability.syncReplyMode,
        retry_interval: reliability.retryInterval,
        retries: reliability.retries,
        persist_duration: reliability.persistDuration,
        duplicate_elimination: reliability.duplicateElimination,
        ack_requested: reliability.ackRequested,
        actor: reliability.actor,
        is_authenticated: endpoint.isAuthenticated,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "messaging-endpoint.added",
      subject: { type: "messaging-endpoint", id: endpoint.id },
      after: endpoint,
    });
    return endpoint;
  });
}

export async function getMessagingEndpoint(queryable: Queryable, id: string): Promise<MessagingEndpoint> {
  return readEntry(
    messagingEndpoint,
    id,
    () => queryable.selectFrom("messaging_endpoints").selectAll().where("id", "=", id).executeTakeFirst(),
    endpointFromRow,
    `No messaging endpoint has id ${id}`,
  );
}

/** Endpoints matching every criterion given, in id order. */
export async function findMessagingEndpoints(
  queryable: Queryable,
  criteria: { odsCode?: string; interaction?: string; partyKey?: string } = {},
): Promise<MessagingEndpoint[]> {
  let query = queryable.selectFrom("messaging_endpoints").selectAll();
  if (criteria.odsCode) query = query.where("ods_code", "=", criteria.odsCode);
  if (criteria.partyKey) query = query.where("party_key", "=", criteria.partyKey);
  if (criteria.interaction) query = query.where("interaction", "=", criteria.interaction);
  const rows = await query.orderBy("id").execute();
  return rows.map(endpointFromRow);
}

export async function removeMessagingEndpoint(
  queryable: Queryable,
  actor: Actor,
  id: string,
  reason: string,
): Promise<MessagingEndpoint> {
  return removeEntry(queryable, actor, messagingEndpoint, id, reason, {
    get: (tx) => getMessagingEndpoint(tx, id),
    remove: (tx) => tx.deleteFrom("messaging_endpoints").where("id", "=", id).execute(),
  });
}

function endpointFromRow(row: Selectable<MessagingEndpointsTable>): MessagingEndpoint {
  return {
    id: row.id,
    odsCode: row.ods_code,
    partyKey: row.party_key,
    interaction: row.interaction,
    cpaId: row.cpa_id,
    fqdn: row.fqdn,
    address: row.endpoint_url,
    reliability: {
      syncReplyMode: row.sync_reply_mode as Reliability["syncReplyMode"],
      retryInterval: row.retry_interval,
      retries: row.retries,
      persistDuration: row.persist_duration,
      duplicateElimination: row.duplicate_elimination as Reliability["duplicateElimination"],
      ackRequested: row.ack_requested as Reliability["ackRequested"],
      actor: row.actor,
    },
    isAuthenticated: row.is_authenticated,
  };
}
