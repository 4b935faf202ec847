import { type Actor, systemActor } from "../audit/actor.ts";
import { accountApp } from "../authenticators/account/app.ts";
import { ensureFirstPartyClients } from "../cis2/first-party-clients.ts";
import { type Cis2Provider, clientValidator, startCis2Provider } from "../cis2/start.ts";
import type { Config } from "../config.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { cimApp } from "../registration/pages/app.ts";
import { seedDemoSignIn } from "../seed/demo-sign-in.ts";
import type { Store } from "../store/database.ts";
import { type FirstPartyApp, firstPartyClientSecret } from "../web/first-party/app.ts";

export type Cis2 = Cis2Provider & {
  /** The secret of a first-party app's own CIS2 client. */
  clientSecret(app: FirstPartyApp): string;
};

/**
 * CIS2 Authentication with what signs in through it: the provider (src/cis2/start.ts), then,
 * before it serves anyone, the demo's people and example client when asked for, and the
 * clients of the service's own apps (Care Identity Management, "your authenticators"). Here,
 * above every capability, so that cis2 knows none of the apps that use it.
 */
export async function startCis2(
  config: Config,
  store: Store,
  lists: CodeLists,
  demo: { seed: boolean; actor: Actor },
): Promise<Cis2> {
  const developmentLogin = config.developmentLogin ?? demo.seed;
  let masterKey: Buffer | undefined;
  const provider = await startCis2Provider(config, store, lists, {
    developmentLogin,
    async prepare(started) {
      masterKey = started.masterKey;
      if (demo.seed)
        await seedDemoSignIn(store.db, demo.actor, started.sealer, clientValidator(started.host));
      await ensureFirstPartyClients(
        store.db,
        systemActor("cis2"),
        started.sealer,
        { issuer: config.issuer, masterKey: started.masterKey },
        [cimApp(config, demo.seed && developmentLogin), accountApp],
        clientValidator(started.host),
      );
    },
  });
  const key = masterKey as Buffer;
  return { ...provider, clientSecret: (app) => firstPartyClientSecret(key, app) };
}
