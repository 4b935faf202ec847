import type { Actor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import { createPerson, type NewPerson, type Person } from "../people/people.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { grantPosition, type NewPosition, type Position } from "../rbac/positions.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";

/**
 * A person with their positions, as written in the demo directory and in files given to
 * `careid people add --file`. Workgroups are named (or given by id) at the position's
 * organisation.
 */
export type PersonEntry = NewPerson & { positions?: Omit<NewPosition, "uuid">[] };

/** Adds every entry or none: a fault anywhere rolls the whole file back. */
export async function addPeople(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  entries: PersonEntry[],
): Promise<{ person: Person; positions: Position[] }[]> {
  return inTransaction(queryable, async (tx) => {
    const added = [];
    for (const [index, entry] of entries.entries()) {
      added.push(await withLocation(`people[${index}]`, () => addPerson(tx, actor, lists, entry)));
    }
    return added;
  });
}

async function addPerson(tx: Tx, actor: Actor, lists: CodeLists, entry: PersonEntry) {
  const { positions = [], ...details } = entry;
  if (!Array.isArray(positions)) throw InvalidInputError.field("positions", "must be a list");
  const person = await createPerson(tx, actor, details);
  const granted: Position[] = [];
  for (const [index, position] of positions.entries()) {
    const workgroups = await withLocation(`positions[${index}]`, () =>
      workgroupIds(tx, String(position.odsCode ?? ""), position.workgroups),
    );
    granted.push(
      await withLocation(`positions[${index}]`, () =>
        grantPosition(tx, actor, lists, { ...position, uuid: person.uuid, workgroups }),
      ),
    );
  }
  return { person, positions: granted };
}

/** Workgroups named (or given by id) at an organisation, as their ids. */
export async function workgroupIds(tx: Tx, odsCode: string, workgroups: unknown): Promise<string[]> {
  if (workgroups === undefined || workgroups === null) return [];
  if (!Array.isArray(workgroups))
    throw InvalidInputError.field("workgroups", "must be a list of names or ids");
  const ids: string[] = [];
  for (const workgroup of workgroups.map(String)) {
    if (isCareIdentifier(workgroup)) {
      ids.push(workgroup);
      continue;
    }
    const found = await tx
      .selectFrom("workgroups")
      .select("id")
      .where("ods_code", "=", odsCode.toUpperCase())
      .where("name", "=", workgroup)
      .executeTakeFirst();
    if (!found) throw InvalidInputError.field("workgroups", `no workgroup "${workgroup}" at ${odsCode}`);
    ids.push(found.id);
  }
  return ids;
}

/** Prefixes the fields named in an input error with where they sit in the file. */
async function withLocation<T>(location: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidInputError) {
      throw new InvalidInputError(
        error.problems.map((problem) => ({ ...problem, field: `${location}.${problem.field}` })),
      );
    }
    if (error instanceof Error) error.message = `${location}: ${error.message}`;
    throw error;
  }
}
