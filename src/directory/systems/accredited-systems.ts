import type { Selectable } from "kysely";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { ConflictError, Problems } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import { isCareIdentifier, nextIdentifier } from "../../store/identifiers.ts";
import type { AccreditedSystemsTable } from "../../store/schema.ts";
import { checkInteraction, checkOdsCode, checkPartyKey, checkText } from "./checks.ts";
import { type EntryKind, readEntry, removeEntry, requireOwner } from "./entries.ts";

/**
 * An accredited system (the directory's nhsAs): an ASID held by an owning organisation, the
 * product it runs from a manufacturer, its MHS party key and the interactions it is
 * accredited to send or receive.
 */
export type AccreditedSystem = {
  asid: string;
  odsCode: string;
  manufacturerOdsCode: string;
  productKey: string;
  productName: string;
  productVersion: string | null;
  partyKey: string;
  interactions: string[];
};

const accreditedSystem: EntryKind = {
  subject: "accredited-system",
  field: "asid",
  words: "an accredited system",
};

export type NewAccreditedSystem = {
  /** Given when an ASID was issued elsewhere; otherwise one comes from the identifier sequence. */
  asid?: unknown;
  odsCode?: unknown;
  manufacturerOdsCode?: unknown;
  productKey?: unknown;
  productName?: unknown;
  productVersion?: unknown;
  partyKey?: unknown;
  interactions?: unknown;
};

function checkAccreditedSystem(
  input: NewAccreditedSystem,
): Omit<AccreditedSystem, "asid"> & { asid?: string } {
  const problems = new Problems();
  let asid: string | undefined;
  if (input.asid !== undefined && input.asid !== null) {
    asid = String(input.asid);
    if (!isCareIdentifier(asid)) problems.add("asid", "must be 12 digits");
  }
  const interactions = Array.isArray(input.interactions) ? input.interactions : [];
  if (interactions.length === 0) problems.add("interactions", "must list at least one interaction id");
  interactions.forEach((interaction, index) => {
    checkInteraction(problems, `interactions[${index}]`, interaction);
  });
  const system = {
    asid,
    odsCode: checkOdsCode(problems, "odsCode", input.odsCode),
    manufacturerOdsCode: checkOdsCode(problems, "manufacturerOdsCode", input.manufacturerOdsCode),
    productKey: checkText(problems, "productKey", input.productKey, true) ?? "",
    productName: checkText(problems, "productName", input.productName, true) ?? "",
    productVersion: checkText(problems, "productVersion", input.productVersion, false),
    partyKey: checkPartyKey(problems, "partyKey", input.partyKey),
    interactions: [...new Set(interactions.map(String))].sort(),
  };
  problems.throwIfAny();
  return system;
}

export async function addAccreditedSystem(
  queryable: Queryable,
  actor: Actor,
  input: NewAccreditedSystem,
): Promise<AccreditedSystem> {
  const checked = checkAccreditedSystem(input);
  return inTransaction(queryable, async (tx) => {
    await requireOwner(tx, checked.odsCode);
    if (checked.asid) {
      const taken = await tx
        .selectFrom("accredited_systems")
        .select("asid")
        .where("asid", "=", checked.asid)
        .executeTakeFirst();
      if (taken) throw new ConflictError(`asid: ${checked.asid} is already an accredited system`, "asid");
    }
    const system: AccreditedSystem = { ...checked, asid: checked.asid ?? (await nextIdentifier(tx)) };
    await tx
      .insertInto("accredited_systems")
      .values({
        asid: system.asid,
        ods_code: system.odsCode,
        manufacturer_ods_code: system.manufacturerOdsCode,
        product_key: system.productKey,
        product_name: system.productName,
        product_version: system.productVersion,
        party_key: system.partyKey,
        interactions: system.interactions,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "accredited-system.added",
      subject: { type: "accredited-system", id: system.asid },
      after: system,
    });
    return system;
  });
}

export async function getAccreditedSystem(queryable: Queryable, asid: string): Promise<AccreditedSystem> {
  return readEntry(
    accreditedSystem,
    asid,
    () => queryable.selectFrom("accredited_systems").selectAll().where("asid", "=", asid).executeTakeFirst(),
    systemFromRow,
    `No accredited system has ASID ${asid}`,
  );
}

/**
 * Accredited systems matching every criterion given: the directory's search for who, at an
 * organisation, handles an interaction (optionally through one party key or from one maker).
 */
export async function findAccreditedSystems(
  queryable: Queryable,
  criteria: { odsCode?: string; interaction?: string; partyKey?: string; manufacturerOdsCode?: string } = {},
): Promise<AccreditedSystem[]> {
  let query = queryable.selectFrom("accredited_systems").selectAll();
  if (criteria.odsCode) query = query.where("ods_code", "=", criteria.odsCode);
  if (criteria.partyKey) query = query.where("party_key", "=", criteria.partyKey);
  if (criteria.manufacturerOdsCode)
    query = query.where("manufacturer_ods_code", "=", criteria.manufacturerOdsCode);
  if (criteria.interaction)
    query = query.where((eb) => eb(eb.val(criteria.interaction), "=", eb.fn.any("interactions")));
  const rows = await query.orderBy("asid").execute();
  return rows.map(systemFromRow);
}

export async function removeAccreditedSystem(
  queryable: Queryable,
  actor: Actor,
  asid: string,
  reason: string,
): Promise<AccreditedSystem> {
  return removeEntry(queryable, actor, accreditedSystem, asid, reason, {
    get: (tx) => getAccreditedSystem(tx, asid),
    remove: (tx) => tx.deleteFrom("accredited_systems").where("asid", "=", asid).execute(),
  });
}

function systemFromRow(row: Selectable<AccreditedSystemsTable>): AccreditedSystem {
  return {
    asid: row.asid,
    odsCode: row.ods_code,
    manufacturerOdsCode: row.manufacturer_ods_code,
    productKey: row.product_key,
    productName: row.product_name,
    productVersion: row.product_version,
    partyKey: row.party_key,
    interactions: row.interactions,
  };
}
