import { operatorActor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import { readJsonFile } from "../json-file.ts";
import { readCodeLists } from "../rbac/code-lists.ts";
import { sealerFromConfig } from "../secrets/master-key.ts";
import { type Prepare, requiredOption, storeCommand, type WithStore } from "../store-command.ts";
import { demoUsers } from "./demo-users.ts";
import { addPeople, type PersonEntry } from "./people-loader.ts";

/** Loading people from a file, and listing the demo directory's people. */
export function seedCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  return {
    "people add": command(
      "people add",
      "careid people add --file person.json",
      "Add a person (or a list of people) with positions from JSON; all or nothing, audited as the operator.",
      { file: { type: "string", help: "JSON file: one person object or a list of them" } },
      async (store, values) => {
        const entries = readPeopleFile(requiredOption(values, "file"));
        const added = await addPeople(store.db, operatorActor(), await readCodeLists(store.db), entries);
        console.log(JSON.stringify(added, null, 2));
        return 0;
      },
    ),
    "demo users": command(
      "demo users",
      "careid demo users [--json]",
      "List the demo directory's people with their positions, RA roles, what they hold and the development password.",
      { json: { type: "boolean", help: "print JSON" } },
      async (store, values, config) => {
        const users = await demoUsers(store.db, await readCodeLists(store.db), sealerFromConfig(config));
        if (values.json) console.log(JSON.stringify(users, null, 2));
        else
          for (const user of users)
            console.log(
              [
                `${user.uuid}  ${user.name.padEnd(36)} ${user.positions.map((position) => `${position.jobRole} @ ${position.odsCode}`).join("; ")}`,
                ...user.raRoles.map((holding) => `    ${holding.role} at ${holding.odsCode}`),
                ...user.authenticators.map(
                  (held) => `    holds ${held.name}${held.secret ? ` (secret ${held.secret})` : ""}`,
                ),
                ...(user.smartcards > 0 ? [`    holds ${user.smartcards} smartcard(s)`] : []),
              ].join("\n"),
            );
        return 0;
      },
    ),
  };
}

function readPeopleFile(path: string): PersonEntry[] {
  let parsed: unknown;
  try {
    parsed = readJsonFile(path);
  } catch (error) {
    throw InvalidInputError.field("--file", (error as Error).message);
  }
  if (typeof parsed !== "object" || parsed === null)
    throw InvalidInputError.field("--file", "must hold a JSON object or list");
  return Array.isArray(parsed) ? parsed : [parsed as PersonEntry];
}
