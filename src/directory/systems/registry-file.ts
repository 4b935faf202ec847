import type { Actor } from "../../audit/actor.ts";
import { InvalidInputError } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import {
  type AccreditedSystem,
  addAccreditedSystem,
  type NewAccreditedSystem,
} from "./accredited-systems.ts";
import {
  addMessagingEndpoint,
  type MessagingEndpoint,
  type NewMessagingEndpoint,
} from "./messaging-endpoints.ts";

/** A file of accredited systems and messaging endpoints, as `careid systems add` and the demo seed read it. */
export type RegistryFile = { systems?: NewAccreditedSystem[]; endpoints?: NewMessagingEndpoint[] };

/** Adds everything in the file or nothing; a fault names the entry it is in. */
export async function addRegistryEntries(
  queryable: Queryable,
  actor: Actor,
  file: RegistryFile,
): Promise<{ systems: AccreditedSystem[]; endpoints: MessagingEndpoint[] }> {
  if (typeof file !== "object" || file === null || Array.isArray(file))
    throw InvalidInputError.field("file", "must hold an object with systems and/or endpoints lists");
  const systemEntries = file.systems ?? [];
  const endpointEntries = file.endpoints ?? [];
  if (!Array.isArray(systemEntries) || !Array.isArray(endpointEntries))
    throw InvalidInputError.field("file", "systems and endpoints must be lists");
  return inTransaction(queryable, async (tx) => {
    const systems: AccreditedSystem[] = [];
    for (const [index, entry] of systemEntries.entries())
      systems.push(await located(`systems[${index}]`, () => addAccreditedSystem(tx, actor, entry)));
    const endpoints: MessagingEndpoint[] = [];
    for (const [index, entry] of endpointEntries.entries())
      endpoints.push(await located(`endpoints[${index}]`, () => addMessagingEndpoint(tx, actor, entry)));
    return { systems, endpoints };
  });
}

async function located<T>(where: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof InvalidInputError)
      throw new InvalidInputError(
        error.problems.map((problem) => ({ ...problem, field: `${where}.${problem.field}` })),
      );
    throw error;
  }
}
