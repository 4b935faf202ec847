import { operatorActor } from "../../audit/actor.ts";
import type { Config } from "../../config.ts";
import { InvalidInputError } from "../../errors.ts";
import { readJsonFile } from "../../json-file.ts";
import { sealerFromConfig } from "../../secrets/master-key.ts";
import {
  type OptionValues,
  type Prepare,
  requiredOption,
  storeCommand,
  type WithStore,
} from "../../store-command.ts";
import { setUpstreamLinkStatus } from "./links.ts";
import { addUpstreamProvider, listUpstreamProviders, removeUpstreamProvider } from "./providers.ts";
import { callbackPath, federationPath } from "./upstream-client.ts";

/**
 * The operator's NHS.net Connect commands: upstream providers from a JSON file (the credential
 * sealed at once and never printed), and turning a person's link off or on. People link and
 * unlink themselves; an RA removes a link like any authenticator (Care Identity Management).
 */
export function federationCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  const linkStatus = (status: "active" | "disabled") =>
    command(
      `federation ${status === "active" ? "enable" : "disable"}-link`,
      `careid federation ${status === "active" ? "enable" : "disable"}-link --user UUID --provider ID --reason TEXT`,
      status === "active"
        ? "Turn a person's NHS.net Connect link on again."
        : "Turn a person's NHS.net Connect link off: it signs no one in, and the upstream account cannot be linked to anyone else.",
      {
        user: { type: "string", help: "the person's 12-digit Care Identity UUID" },
        provider: { type: "string", help: "the upstream provider's id" },
        reason: { type: "string", help: "why, for the audit log" },
      },
      async (store, values) => {
        await setUpstreamLinkStatus(store.db, operatorActor(), {
          uuid: requiredOption(values, "user"),
          providerId: requiredOption(values, "provider"),
          status,
          reason: requiredOption(values, "reason"),
        });
        console.log(`The link is ${status === "active" ? "on" : "off"}.`);
        return 0;
      },
    );
  return {
    "federation add": {
      usage: "careid federation add --file upstream.json",
      summary:
        "Add or replace an upstream OpenID provider for NHS.net Connect (issuer, clientId, clientSecret or privateKeyJwk, scopes, identifyingClaim, tenantId, allowedDomains).",
      options: { file: { type: "string" as const, help: "the provider's JSON file" } },
      run: (values: OptionValues, config: Config) =>
        withStore(config, "federation add", async (store) => {
          await prepare(store);
          let input: unknown;
          try {
            input = readJsonFile(requiredOption(values, "file"));
          } catch (error) {
            if (error instanceof InvalidInputError) throw error;
            throw InvalidInputError.field("--file", (error as Error).message);
          }
          const added = await addUpstreamProvider(store.db, operatorActor(), sealerFromConfig(config), input);
          const origin = new URL(config.issuer).origin;
          console.log(JSON.stringify(added, null, 2));
          console.log(
            `Register at the upstream: redirect URI ${origin}${callbackPath}, back-channel logout URI ${origin}${federationPath}/${added.id}/backchannel-logout`,
          );
          return 0;
        }),
    },
    "federation list": command(
      "federation list",
      "careid federation list",
      "List the upstream providers (never their credentials).",
      {},
      async (store) => {
        console.log(JSON.stringify(await listUpstreamProviders(store.db), null, 2));
        return 0;
      },
    ),
    "federation remove": command(
      "federation remove",
      "careid federation remove --provider ID",
      "Remove an upstream provider and every link to it.",
      { provider: { type: "string", help: "the upstream provider's id" } },
      async (store, values) => {
        await removeUpstreamProvider(store.db, operatorActor(), requiredOption(values, "provider"));
        console.log("Removed.");
        return 0;
      },
    ),
    "federation disable-link": linkStatus("disabled"),
    "federation enable-link": linkStatus("active"),
  };
}
