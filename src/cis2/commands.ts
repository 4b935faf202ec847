import { operatorActor } from "../audit/actor.ts";
import type { Config } from "../config.ts";
import { InvalidInputError } from "../errors.ts";
import { readJsonFile } from "../json-file.ts";
import { sealerFromConfig } from "../secrets/master-key.ts";
import type { Store } from "../store/database.ts";
import { type Command, type Prepare, storeCommand, type WithStore } from "../store-command.ts";
import { environmentOf } from "./client-rules.ts";
import { addClient, listClients, removeClient, showClient } from "./clients.ts";
import { defaultGraceSeconds, ensureSigningKey, listSigningKeys, rotateSigningKeys } from "./keys.ts";
import { type Cis2Provider, clientValidator } from "./start.ts";

/**
 * Runs work with CIS2 started as serve starts it (src/app/, which this folder may not import, so
 * main.ts passes it in): a client is checked against the running provider's host and sealed with
 * its sealer.
 */
export type WithCis2 = (
  config: Config,
  purpose: string,
  work: (context: { store: Store; cis2: Pick<Cis2Provider, "sealer" | "host"> }) => Promise<number>,
) => Promise<number>;

/** CIS2's commands: its relying parties (clients) and its token signing keys. */
export function cis2Commands(withStore: WithStore, prepare: Prepare, withCis2: WithCis2) {
  const command = storeCommand(withStore, prepare);
  return {
    "clients add": {
      usage: "careid clients add --file client.json",
      summary: "Register a CIS2 relying party from RFC 7591 metadata; prints the stored client.",
      options: {
        file: {
          type: "string",
          help: 'JSON client metadata (client_id, redirect_uris, token_endpoint_auth_method ..., and "environment": "development" or "production", the default)',
        },
      },
      run: (values, config) =>
        withCis2(config, "clients add", async ({ store, cis2 }) => {
          if (typeof values.file !== "string") throw InvalidInputError.field("--file", "is required");
          const metadata = readJsonFileOrRefuse(values.file);
          const stored = await addClient(
            store.db,
            operatorActor(),
            cis2.sealer,
            metadata,
            clientValidator(cis2.host),
            { environment: environmentOf(metadata), clientIdForm: "registry" },
          );
          console.log(JSON.stringify(stored, null, 2));
          return 0;
        }),
    } satisfies Command,
    "clients list": command(
      "clients list",
      "careid clients list",
      "List registered relying parties.",
      {},
      async (store) => {
        for (const client of await listClients(store.db))
          console.log(`${client.client_id}\t${client.client_name ?? ""}`);
        return 0;
      },
    ),
    "clients show": command(
      "clients show",
      "careid clients show --id CLIENT_ID",
      "Show one relying party's metadata (never its secret).",
      { id: { type: "string", help: "the client_id" } },
      async (store, values) => {
        console.log(JSON.stringify(await showClient(store.db, String(values.id ?? "")), null, 2));
        return 0;
      },
    ),
    "clients remove": command(
      "clients remove",
      "careid clients remove --id CLIENT_ID",
      "Remove a relying party; its tokens stop working at once.",
      { id: { type: "string", help: "the client_id" } },
      async (store, values) => {
        await removeClient(store.db, operatorActor(), String(values.id ?? ""));
        console.log(`Removed ${values.id}.`);
        return 0;
      },
    ),
    "keys rotate": command(
      "keys rotate",
      "careid keys rotate [--grace-seconds 3600]",
      "Publish a new signing key now; it signs after the grace period, when the old one retires.",
      { "grace-seconds": { type: "string", help: "seconds before the new key signs (default 3600)" } },
      async (store, values, config) => {
        const grace = Number(values["grace-seconds"] ?? defaultGraceSeconds);
        if (!Number.isInteger(grace) || grace < 0)
          throw InvalidInputError.field("--grace-seconds", "must be a whole number of seconds");
        const sealer = sealerFromConfig(config);
        await ensureSigningKey(store.db, operatorActor(), sealer);
        const rotated = await rotateSigningKeys(store.db, operatorActor(), sealer, grace);
        console.log(
          `New key ${rotated.kid} is published now and signs from ${rotated.signsFrom.toISOString()}; retiring ${rotated.retired.join(", ") || "none"}.`,
        );
        return 0;
      },
    ),
    "keys list": command(
      "keys list",
      "careid keys list",
      "List signing keys with when each signs and retires.",
      {},
      async (store) => {
        console.log(JSON.stringify(await listSigningKeys(store.db), null, 2));
        return 0;
      },
    ),
  };
}

function readJsonFileOrRefuse(path: string): unknown {
  try {
    return readJsonFile(path);
  } catch (error) {
    throw InvalidInputError.field("--file", (error as Error).message);
  }
}
