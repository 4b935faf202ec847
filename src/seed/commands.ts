import { type Actor, operatorActor, seedActor } from "../audit/actor.ts";
import type { Config } from "../config.ts";
import { InvalidInputError } from "../errors.ts";
import { readJsonFile } from "../json-file.ts";
import { type CodeLists, readCodeLists } from "../rbac/code-lists.ts";
import { sealerFromConfig } from "../secrets/master-key.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Store } from "../store/database.ts";
import {
  type Command,
  type Prepare,
  requiredOption,
  storeCommand,
  type WithStore,
} from "../store-command.ts";
import { seedDemo } from "./demo.ts";
import { seedDemoApps } from "./demo-authenticators.ts";
import { demoUsers } from "./demo-users.ts";
import { addPeople, type PersonEntry } from "./people-loader.ts";
import { seedSynthetic } from "./synthetic.ts";

/**
 * CIS2 started as serve starts it (src/app/start-cis2.ts, which seed may not import, so main.ts
 * passes it in): seeding the demo also seeds its sign-in and example client there.
 */
export type StartCis2 = (
  config: Config,
  store: Store,
  lists: CodeLists,
  demo: { seed: boolean; actor: Actor },
) => Promise<{ sealer: Sealer; stop(): void }>;

/** Loading the demo directory, or a synthetic one for load and scale testing. */
export function seedCommands(withStore: WithStore, prepare: Prepare, startCis2: StartCis2) {
  const command = storeCommand(withStore, prepare);
  return {
    "seed demo": command(
      "seed demo",
      "careid seed demo",
      "Load the demo directory (fictional organisations and people, their development password and the example app's client) into an empty database.",
      {},
      async (store, _values, config) => {
        const loaded = await seedDemo(store.db, seedActor());
        // Then what serve --demo adds, by the same start: the demo is whole as soon as it is
        // seeded. Never on a database that already had people: they must not get the demo password.
        if (loaded) {
          const cis2 = await startCis2(config, store, await readCodeLists(store.db), {
            seed: true,
            actor: seedActor(),
          });
          await seedDemoApps(store.db, seedActor(), cis2.sealer);
          cis2.stop();
        }
        console.log(
          loaded
            ? "Loaded the demo directory."
            : "The database already has people; the demo directory was not loaded.",
        );
        return 0;
      },
    ),
    "seed synthetic": {
      usage: "careid seed synthetic --people N [--positions-per-person 1.5]",
      summary: "Bulk-load N synthetic people with positions, for load and scale testing.",
      options: {
        people: { type: "string", help: "how many people to create" },
        "positions-per-person": { type: "string", help: "average positions per person (default 1.5)" },
      },
      run: (values, config) =>
        withStore(config, "seed synthetic", async (store) => {
          const people = Number(values.people);
          const ratio = Number(values["positions-per-person"] ?? "1.5");
          if (!Number.isInteger(people) || people < 1 || people > 10_000_000) {
            throw InvalidInputError.field("--people", "must be a whole number from 1 to 10000000");
          }
          if (!(ratio >= 1 && ratio <= 5))
            throw InvalidInputError.field("--positions-per-person", "must be from 1 to 5");
          await prepare(store);
          const result = await seedSynthetic(store, seedActor(), {
            people,
            positionsPerPerson: ratio,
            progress: console.log,
          });
          console.log(
            `Loaded ${result.people} people and ${result.positions} positions in ${result.seconds.toFixed(1)} s.`,
          );
          return 0;
        }),
    } satisfies Command,
  };
}

/** Loading people from a file, and listing the demo directory's people. */
export function peopleCommands(withStore: WithStore, prepare: Prepare) {
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
