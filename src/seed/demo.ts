import { readFileSync } from "node:fs";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { addRegistryEntries, type RegistryFile } from "../directory/systems/registry-file.ts";
import { readCodeLists } from "../rbac/code-lists.ts";
import { createOrganisation, type NewOrganisation } from "../rbac/organisations.ts";
import { createWorkgroup } from "../rbac/workgroups.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { nextIdentifier } from "../store/identifiers.ts";
import type { AccessProfileRow } from "../store/schema.ts";
import { takeStartUpLock } from "../store/start-up-lock.ts";
import { addPeople, type PersonEntry } from "./people-loader.ts";

/**
 * The demo directory: fictional organisations, workgroups and people with positions, used by
 * `npm start`, the tests and the documentation alike.
 */
export type DemoDirectory = {
  organisations: NewOrganisation[];
  workgroups: { odsCode: string; name: string }[];
  /** Positions defined at the demo organisations, so a sponsor has something to request. */
  positionDefinitions?: { odsCode: string; name: string; accessProfiles: AccessProfileRow[] }[];
  people: PersonEntry[];
};

export function readDemoDirectory(): DemoDirectory {
  return JSON.parse(readFileSync(new URL("./demo-directory.json", import.meta.url), "utf8"));
}

/** Accredited systems and messaging endpoints at the demo organisations (fictional). */
export function readDemoSystems(): RegistryFile {
  return JSON.parse(readFileSync(new URL("./demo-systems.json", import.meta.url), "utf8"));
}

const demoEvidence = { method: "demo-directory", note: "fictional person in the demo directory" };

/** Loads the demo directory into an empty database; returns false and changes nothing otherwise. */
export async function seedDemo(queryable: Queryable, actor: Actor): Promise<boolean> {
  const demo = readDemoDirectory();
  return inTransaction(queryable, async (tx) => {
    await takeStartUpLock(tx);
    const existing = await tx.selectFrom("people").select("uuid").limit(1).executeTakeFirst();
    if (existing) return false;
    const lists = await readCodeLists(tx);
    for (const organisation of parentsFirst(demo.organisations))
      await createOrganisation(tx, actor, organisation);
    for (const workgroup of demo.workgroups)
      await createWorkgroup(tx, actor, workgroup.odsCode, workgroup.name);
    const people = demo.people.map((person) => ({
      ...person,
      identityEvidence:
        person.identityEvidence ?? (Number(person.identityAssuranceLevel) >= 2 ? demoEvidence : undefined),
    }));
    await addPeople(tx, actor, lists, people);
    await addRegistryEntries(tx, actor, readDemoSystems());
    // Last, so the people's and systems' identifiers stay those the documentation quotes.
    for (const definition of demo.positionDefinitions ?? [])
      await seedPositionDefinition(tx, actor, definition);
    return true;
  });
}

/**
 * A position definition of the demo, written as the operator who seeds it (an RA manager
 * defines the real ones in CIM, under the RA policy), with its audit event.
 */
async function seedPositionDefinition(
  tx: Tx,
  actor: Actor,
  definition: NonNullable<DemoDirectory["positionDefinitions"]>[number],
): Promise<void> {
  const id = await nextIdentifier(tx);
  await tx
    .insertInto("position_definitions")
    .values({
      id,
      ods_code: definition.odsCode,
      name: definition.name,
      access_profiles: JSON.stringify(definition.accessProfiles),
    })
    .execute();
  await recordEvent(tx, actor, {
    action: "position-definition.created",
    subject: { type: "position-definition", id },
    after: { id, ...definition, status: "active" },
  });
}

function parentsFirst(organisations: NewOrganisation[]): NewOrganisation[] {
  const ordered: NewOrganisation[] = [];
  const placed = new Set<unknown>();
  let remaining = organisations;
  while (remaining.length > 0) {
    const ready = remaining.filter(
      (organisation) => !organisation.parentOdsCode || placed.has(organisation.parentOdsCode),
    );
    if (ready.length === 0)
      throw new Error("the demo directory's organisations have a parent cycle or a missing parent");
    for (const organisation of ready) placed.add(organisation.odsCode);
    ordered.push(...ready);
    remaining = remaining.filter((organisation) => !ready.includes(organisation));
  }
  return ordered;
}
