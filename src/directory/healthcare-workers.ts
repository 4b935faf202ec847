import { NotFoundError } from "../errors.ts";
import { getPerson, type Person } from "../people/people.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { getPosition, type Position, positionsOfPerson } from "../rbac/positions.ts";
import type { Queryable } from "../store/database.ts";

/**
 * What the directory may say about a worker. Only active people and their current positions
 * are published; a closed identity is reported as closed (clients must stop trusting it), and
 * a suspended or unknown one as absent.
 */
export type WorkerLookup =
  | { kind: "published"; person: Person }
  | { kind: "closed"; uuid: string }
  | { kind: "absent"; uuid: string };

export async function lookUpWorker(queryable: Queryable, uuid: string): Promise<WorkerLookup> {
  try {
    const person = await getPerson(queryable, uuid);
    if (person.status === "active") return { kind: "published", person };
    return person.status === "closed" ? { kind: "closed", uuid } : { kind: "absent", uuid };
  } catch (error) {
    if (error instanceof NotFoundError) return { kind: "absent", uuid };
    throw error;
  }
}

export function currentPositions(queryable: Queryable, lists: CodeLists, uuid: string): Promise<Position[]> {
  return positionsOfPerson(queryable, lists, uuid);
}

/** One position, if it is current and its holder is published; undefined otherwise. */
export async function publishedPosition(
  queryable: Queryable,
  lists: CodeLists,
  roleProfileId: string,
): Promise<{ position: Position; person: Person } | undefined> {
  let position: Position;
  try {
    position = await getPosition(queryable, lists, roleProfileId);
  } catch (error) {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  }
  const today = new Date().toISOString().slice(0, 10);
  const current =
    position.status === "active" &&
    position.startDate <= today &&
    (!position.endDate || position.endDate >= today);
  if (!current) return undefined;
  const worker = await lookUpWorker(queryable, position.uuid);
  return worker.kind === "published" ? { position, person: worker.person } : undefined;
}
