import { operatorActor } from "../audit/actor.ts";
import { type Prepare, storeCommand, type WithStore } from "../store-command.ts";
import { defaultValidHours, issueEnrolmentLink } from "./enrolment/links.ts";
import { enrolmentPath } from "./enrolment/pages.ts";
import { unlockTotp } from "./totp/app-authenticators.ts";

/** The authenticators' commands: a first enrolment link, and unlocking an authenticator app. */
export function authenticatorCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  return {
    "authenticators invite": command(
      "authenticators invite",
      "careid authenticators invite --user UUID [--hours 72]",
      "Issue a one-time enrolment link for a person's first authenticator (security key or authenticator app); prints the link.",
      {
        user: { type: "string", help: "the person's 12-digit Care Identity UUID" },
        hours: { type: "string", help: `how long the link works (default ${defaultValidHours})` },
      },
      async (store, values, config) => {
        const validHours = Number(values.hours ?? defaultValidHours);
        const link = await issueEnrolmentLink(store.db, operatorActor(), {
          uuid: String(values.user ?? ""),
          validHours,
        });
        console.log(
          `Enrolment link for ${values.user}, usable once until ${link.expiresAt.toISOString()}:\n${new URL(config.issuer).origin}${enrolmentPath}/${link.token}`,
        );
        return 0;
      },
    ),
    "authenticators unlock": command(
      "authenticators unlock",
      "careid authenticators unlock --user UUID",
      "Unlock a person's authenticator app locked after repeated wrong codes, and lift the day's cap on wrong passwords and codes.",
      { user: { type: "string", help: "the person's 12-digit Care Identity UUID" } },
      async (store, values) => {
        const { wasLocked } = await unlockTotp(store.db, operatorActor(), String(values.user ?? ""));
        console.log(
          wasLocked
            ? `The authenticator app of ${values.user} is unlocked.`
            : `The authenticator app of ${values.user} was not locked.`,
        );
        return 0;
      },
    ),
  };
}
