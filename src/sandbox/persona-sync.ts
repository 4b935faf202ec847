import { isDeepStrictEqual } from "node:util";
import type { Actor } from "../audit/actor.ts";
import {
  addClient,
  type ClientMetadata,
  checkClient,
  isRegistered,
  readClientMetadata,
  removeClient,
  storeClient,
} from "../cis2/clients.ts";
import { ConflictError } from "../errors.ts";
import { checkNewPerson, createPerson, getPerson, type Person } from "../people/people.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { endPosition, grantPosition } from "../rbac/positions.ts";
import { closeProfile, reopenProfile } from "../registration/closure.ts";
import { changeDetails, type DetailChanges, detailFields } from "../registration/profile-changes.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { workgroupIds } from "../seed/people-loader.ts";
import { type Db, inTransaction, type Tx } from "../store/database.ts";
import type { Persona, PersonasFile } from "./personas.ts";

/** A persona as the sandbox signs it in: who it is in the directory. */
export type LoadedPersona = Persona & { uuid: string };

/** What applying one version of the file changed, for the console. */
export type SyncReport = {
  personas: LoadedPersona[];
  changes: string[];
  /** Edits the file asks for that no domain operation makes to an existing profile. */
  notApplied: string[];
};

export type SyncContext = {
  db: Db;
  actor: Actor;
  lists: CodeLists;
  sealer: Sealer;
  validate: (metadata: ClientMetadata) => Promise<void>;
};

const fileReason = "changed in the sandbox personas file";

/**
 * Makes the directory match one version of the personas file, through the domain's own
 * operations (create a profile, change its details, grant and end positions, close and reopen,
 * register and change clients), all in one transaction: a file with a problem changes nothing.
 */
export async function applyPersonasFile(context: SyncContext, file: PersonasFile): Promise<SyncReport> {
  return inTransaction(context.db, async (tx) => {
    const report: SyncReport = { personas: [], changes: [], notApplied: [] };
    await applyClients(tx, context, file.clients, report);
    const known = await entries(tx, "persona");
    for (const persona of file.personas) {
      const uuid = await withPlace(`personas "${persona.id}"`, () =>
        applyPersona(tx, context, persona, known.get(persona.id), report),
      );
      report.personas.push({ ...persona, uuid });
    }
    for (const [id, uuid] of known) {
      if (file.personas.some((persona) => persona.id === id) || !uuid) continue;
      if ((await getPerson(tx, uuid)).status === "closed") continue;
      await closeProfile(tx, context.actor, {
        uuid,
        reason: "removed from the sandbox personas file",
        direct: true,
      });
      report.changes.push(`closed persona ${id} (${uuid})`);
    }
    return report;
  });
}

async function applyPersona(
  tx: Tx,
  context: SyncContext,
  persona: Persona,
  known: string | null | undefined,
  report: SyncReport,
): Promise<string> {
  const details = { ...persona.person, identityEvidence: persona.person.identityEvidence ?? sandboxEvidence };
  if (!known) {
    const person = await createPerson(tx, context.actor, details);
    await tx
      .insertInto("sandbox_entries")
      .values({ kind: "persona", key: persona.id, uuid: person.uuid })
      .execute();
    report.changes.push(`created persona ${persona.id} (${person.uuid})`);
    await applyPositions(tx, context, persona, person.uuid, report);
    return person.uuid;
  }
  let person = await getPerson(tx, known);
  if (person.status === "closed") {
    await reopenProfile(tx, context.actor, {
      uuid: known,
      reason: "back in the sandbox personas file",
      direct: true,
    });
    report.changes.push(`reopened persona ${persona.id} (${known})`);
    person = await getPerson(tx, known);
  }
  await applyDetails(tx, context, persona, person, checkNewPerson(details), report);
  await applyPositions(tx, context, persona, known, report);
  return known;
}

/** Fictional people: the evidence says so, for assurance levels that need some. */
const sandboxEvidence = { method: "sandbox", note: "fictional persona in the sandbox personas file" };

async function applyDetails(
  tx: Tx,
  context: SyncContext,
  persona: Persona,
  person: Person,
  wanted: ReturnType<typeof checkNewPerson>,
  report: SyncReport,
): Promise<void> {
  const changes: DetailChanges = {};
  for (const field of detailFields)
    if ((person[field] ?? null) !== (wanted[field] ?? null)) changes[field] = wanted[field];
  if (Object.keys(changes).length > 0) {
    await changeDetails(tx, context.actor, { uuid: person.uuid, changes, reason: fileReason, direct: true });
    report.changes.push(`changed ${Object.keys(changes).join(", ")} of persona ${persona.id}`);
  }
  if (person.identityAssuranceLevel !== wanted.identityAssuranceLevel)
    report.notApplied.push(
      `persona ${persona.id}: identityAssuranceLevel is set when a profile is created; give the persona a new id to create it afresh`,
    );
  if (
    !isDeepStrictEqual(sortedRegistrations(person.registrations), sortedRegistrations(wanted.registrations))
  )
    report.notApplied.push(
      `persona ${persona.id}: registrations are set when a profile is created; give the persona a new id to create it afresh`,
    );
}

function sortedRegistrations(registrations: Person["registrations"]) {
  return registrations.map((registration) => `${registration.body} ${registration.number}`).sort();
}

/** A position is the same one while its organisation, job role, workgroups, activities and areas are. */
async function applyPositions(
  tx: Tx,
  context: SyncContext,
  persona: Persona,
  uuid: string,
  report: SyncReport,
): Promise<void> {
  const today = new Date().toISOString().slice(0, 10);
  const current = await tx
    .selectFrom("positions")
    .select([
      "role_profile_id",
      "ods_code",
      "job_role_code",
      "added_activity_codes",
      "workgroup_ids",
      "area_of_work_codes",
    ])
    .where("uuid", "=", uuid)
    .where("status", "=", "active")
    .execute();
  const held = new Map(
    current.map((row) => [
      positionKey(
        row.ods_code,
        row.job_role_code,
        row.workgroup_ids,
        row.added_activity_codes,
        row.area_of_work_codes,
      ),
      row.role_profile_id,
    ]),
  );
  const wanted = new Set<string>();
  for (const [index, position] of persona.positions.entries()) {
    const odsCode = String(position.odsCode ?? "").toUpperCase();
    const workgroups = await withPlace(`positions[${index}]`, () =>
      workgroupIds(tx, odsCode, position.workgroups),
    );
    const key = positionKey(
      odsCode,
      String(position.jobRole ?? "")
        .split(":")
        .pop() ?? "",
      workgroups,
      listOf(position.activities),
      listOf(position.areasOfWork),
    );
    wanted.add(key);
    if (held.has(key)) continue;
    const granted = await withPlace(`positions[${index}]`, () =>
      grantPosition(tx, context.actor, context.lists, {
        ...position,
        uuid,
        workgroups,
        startDate: position.startDate ?? today,
      }),
    );
    held.set(key, granted.roleProfileId);
    report.changes.push(
      `granted ${granted.jobRole.jobRoleName} at ${granted.odsCode} to persona ${persona.id}`,
    );
  }
  for (const [key, roleProfileId] of held) {
    if (wanted.has(key)) continue;
    await endPosition(tx, context.actor, context.lists, roleProfileId, {
      reason: "removed from the sandbox personas file",
    });
    report.changes.push(`ended position ${roleProfileId} of persona ${persona.id}`);
  }
}

function listOf(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

function positionKey(odsCode: string, jobRole: string, ...lists: string[][]): string {
  return JSON.stringify([odsCode, jobRole, ...lists.map((list) => [...new Set(list)].sort())]);
}

/** The file's clients registered, changed or removed; a client registered elsewhere is never touched. */
async function applyClients(
  tx: Tx,
  context: SyncContext,
  clients: Record<string, unknown>[],
  report: SyncReport,
): Promise<void> {
  const known = await entries(tx, "client");
  const registration = { environment: "development" as const, clientIdForm: "registry" as const };
  for (const [index, metadata] of clients.entries()) {
    const clientId = String(metadata.client_id ?? "");
    await withPlace(`clients[${index}]`, async () => {
      if (!known.has(clientId)) {
        if (await isRegistered(tx, clientId))
          throw new ConflictError(
            `client_id: ${clientId} is registered outside the sandbox file`,
            "client_id",
          );
        await addClient(tx, context.actor, context.sealer, metadata, context.validate, registration);
        await tx
          .insertInto("sandbox_entries")
          .values({ kind: "client", key: clientId, uuid: null })
          .execute();
        report.changes.push(`registered client ${clientId}`);
        return;
      }
      const checked = await checkClient(metadata, registration, context.validate);
      const existing = await readClientMetadata(tx, context.sealer, clientId);
      if (isDeepStrictEqual(canonical(checked), canonical(existing))) return;
      await storeClient(tx, context.actor, context.sealer, checked, registration, "client.changed");
      report.changes.push(`changed client ${clientId}`);
    });
  }
  for (const clientId of known.keys()) {
    if (clients.some((metadata) => metadata.client_id === clientId)) continue;
    await removeClient(tx, context.actor, clientId);
    await tx.deleteFrom("sandbox_entries").where("kind", "=", "client").where("key", "=", clientId).execute();
    report.changes.push(`removed client ${clientId}`);
  }
}

/** JSON's meaning without its key order (the database keeps its own). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
  );
}

async function entries(tx: Tx, kind: "persona" | "client"): Promise<Map<string, string | null>> {
  const rows = await tx
    .selectFrom("sandbox_entries")
    .select(["key", "uuid"])
    .where("kind", "=", kind)
    .execute();
  return new Map(rows.map((row) => [row.key, row.uuid]));
}

/** Names where in the file a refused change sits. */
async function withPlace<T>(place: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error) error.message = `${place}: ${error.message}`;
    throw error;
  }
}
