import { readFileSync } from "node:fs";
import { operatorActor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import { type Prepare, requiredOption, storeCommand, type WithStore } from "../store-command.ts";
import { issueApplication, listApplications, revokeApplication } from "./applications/applications.ts";
import {
  findAccreditedSystems,
  getAccreditedSystem,
  removeAccreditedSystem,
} from "./systems/accredited-systems.ts";
import { findMessagingEndpoints, removeMessagingEndpoint } from "./systems/messaging-endpoints.ts";
import { addRegistryEntries, type RegistryFile } from "./systems/registry-file.ts";

/**
 * The directory's commands for the command line's table: the accredited systems registry and
 * the applications that may call the directory APIs. Every change is audited as the operator.
 */
export function directoryCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  const required = requiredOption;
  return {
    "systems add": command(
      "systems add",
      "careid systems add --file registry.json",
      'Add accredited systems and messaging endpoints from JSON ({"systems": [...], "endpoints": [...]}); all or nothing.',
      { file: { type: "string", help: "JSON file of systems and/or endpoints" } },
      async (store, values) => {
        const added = await addRegistryEntries(
          store.db,
          operatorActor(),
          readRegistryFile(required(values, "file")),
        );
        console.log(JSON.stringify(added, null, 2));
        return 0;
      },
    ),
    "systems list": command(
      "systems list",
      "careid systems list [--ods CODE]",
      "List accredited systems (ASID, owner, party key, product, interactions).",
      { ods: { type: "string", help: "only systems owned by this organisation" } },
      async (store, values) => {
        const odsCode = typeof values.ods === "string" ? values.ods.toUpperCase() : undefined;
        for (const system of await findAccreditedSystems(store.db, { odsCode }))
          console.log(
            [
              system.asid,
              system.odsCode,
              system.partyKey,
              system.productName,
              system.interactions.length,
            ].join("\t"),
          );
        return 0;
      },
    ),
    "systems show": command(
      "systems show",
      "careid systems show --asid ASID",
      "Show one accredited system and the messaging endpoints of its party key, as JSON.",
      { asid: { type: "string", help: "the system's 12-digit ASID" } },
      async (store, values) => {
        const system = await getAccreditedSystem(store.db, required(values, "asid"));
        const endpoints = await findMessagingEndpoints(store.db, { partyKey: system.partyKey });
        console.log(JSON.stringify({ ...system, endpoints }, null, 2));
        return 0;
      },
    ),
    "systems remove": command(
      "systems remove",
      "careid systems remove (--asid ASID | --endpoint ID) --reason TEXT",
      "Remove an accredited system or a messaging endpoint, with the reason recorded in the audit log.",
      {
        asid: { type: "string", help: "the accredited system to remove" },
        endpoint: { type: "string", help: "the messaging endpoint (its 12-digit id) to remove" },
        reason: { type: "string", help: "why (required)" },
      },
      async (store, values) => {
        const reason = required(values, "reason");
        if (typeof values.asid === "string") {
          const removed = await removeAccreditedSystem(store.db, operatorActor(), values.asid, reason);
          console.log(
            `Removed accredited system ${removed.asid} (${removed.productName} at ${removed.odsCode}).`,
          );
        } else {
          const removed = await removeMessagingEndpoint(
            store.db,
            operatorActor(),
            required(values, "endpoint"),
            reason,
          );
          console.log(
            `Removed messaging endpoint ${removed.id} (${removed.partyKey} ${removed.interaction}).`,
          );
        }
        return 0;
      },
    ),
    "apps add": command(
      "apps add",
      "careid apps add --name NAME [--rate-limit N] [--admin]",
      "Issue an application API key for the directory APIs; the key is printed once and stored only as a digest.",
      {
        name: { type: "string", help: "who the application belongs to" },
        "rate-limit": { type: "string", help: "requests a minute allowed to this key (default 1200)" },
        admin: { type: "boolean", help: "may also change the accredited systems registry" },
      },
      async (store, values) => {
        const limit = values["rate-limit"];
        const { application, key } = await issueApplication(store.db, operatorActor(), {
          name: values.name,
          admin: values.admin === true,
          rateLimitPerMinute: typeof limit === "string" ? Number(limit) : undefined,
        });
        console.log(`Application ${application.id} (${application.name})\nAPI key (shown once): ${key}`);
        return 0;
      },
    ),
    "apps list": command(
      "apps list",
      "careid apps list",
      "List applications: id, key prefix, status, rate limit, admin, name.",
      {},
      async (store) => {
        for (const application of await listApplications(store.db))
          console.log(
            [
              application.id,
              `${application.keyPrefix}…`,
              application.status,
              `${application.rateLimitPerMinute}/min`,
              application.admin ? "admin" : "read",
              application.name,
            ].join("\t"),
          );
        return 0;
      },
    ),
    "apps revoke": command(
      "apps revoke",
      "careid apps revoke --id ID",
      "Revoke an application's API key; every node stops accepting it at once (within 10 seconds on the embedded database).",
      { id: { type: "string", help: "the application id" } },
      async (store, values) => {
        const revoked = await revokeApplication(store.db, operatorActor(), required(values, "id"));
        console.log(`Revoked application ${revoked.id} (${revoked.name}).`);
        return 0;
      },
    ),
  };
}

function readRegistryFile(path: string): RegistryFile {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    const reason = error instanceof SyntaxError ? "it is not valid JSON" : (error as Error).message;
    throw InvalidInputError.field("--file", `${path} could not be read: ${reason}`);
  }
}
