import { type Actor, systemActor } from "../audit/actor.ts";
import { accountApp } from "../authenticators/account/app.ts";
import { forgetEndedThrottles } from "../authenticators/throttle.ts";
import {
  type AttestationPolicy,
  loadAttestationPolicy,
} from "../authenticators/webauthn/attestation/policy.ts";
import type { Config } from "../config.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { cimApp } from "../registration/pages/app.ts";
import { loadMasterKey } from "../secrets/master-key.ts";
import { type Sealer, sealerFor } from "../secrets/sealed.ts";
import { seedDemoSignIn } from "../seed/demo-sign-in.ts";
import type { Store } from "../store/database.ts";
import { listenFor } from "../store/notifications.ts";
import {
  ensureFirstPartyClients,
  type FirstPartyApp,
  firstPartyClientSecret,
} from "../web/first-party/app.ts";
import { removeExpiredModels } from "./adapter.ts";
import { startBackchannelDelivery } from "./backchannel.ts";
import { listeningClientCache, uncached } from "./client-cache.ts";
import type { ClientMetadata } from "./clients.ts";
import { hostProvider, type ProviderHost } from "./host.ts";
import { ensureSigningKey, signingKeysChannel } from "./keys.ts";
import { endExpiredSessions } from "./session-revocation.ts";

export type Cis2 = {
  host: ProviderHost;
  sealer: Sealer;
  developmentLogin: boolean;
  attestationPolicy: AttestationPolicy;
  /** The secret of a first-party app's own CIS2 client. */
  clientSecret(app: FirstPartyApp): string;
  stop(): void;
};

export function sealerFromConfig(config: Config): Sealer {
  return sealerFor(loadMasterKey(config));
}

/** Starts CIS2 Authentication: keys, the provider, back-channel logout delivery, the first-party apps' clients and the demo's. */
export async function startCis2(
  config: Config,
  store: Store,
  lists: CodeLists,
  demo: { seed: boolean; actor: Actor },
): Promise<Cis2> {
  const attestationPolicy = await loadAttestationPolicy(config.webauthn);
  const masterKey = loadMasterKey(config);
  const sealer = sealerFor(masterKey);
  const developmentLogin = config.developmentLogin ?? demo.seed;
  await ensureSigningKey(store.db, systemActor("cis2"), sealer);
  const clients =
    store.kind === "postgres" && config.databaseUrl ? listeningClientCache(config.databaseUrl) : uncached;
  let host: ProviderHost | undefined;
  let keyChanges: { close(): Promise<void> } | undefined;
  try {
    host = await hostProvider({
      clients,
      issuer: config.issuer,
      db: store.db,
      sealer,
      masterKey,
      lists,
      developmentLogin,
      trustProxy: config.trustProxy,
    });
    const provider = host;
    // A key rotated on any node (or by careid keys rotate) is published by every node at once.
    keyChanges =
      store.kind === "postgres" && config.databaseUrl
        ? listenFor(config.databaseUrl, signingKeysChannel, {
            notice: () => void provider.refresh().catch(() => {}),
            down: () => {},
          })
        : undefined;
    if (demo.seed) await seedDemoSignIn(store.db, demo.actor, sealer, clientValidator(host));
    await ensureFirstPartyClients(
      store.db,
      systemActor("cis2"),
      sealer,
      { issuer: config.issuer, masterKey },
      [cimApp(config, demo.seed && developmentLogin), accountApp],
      clientValidator(host),
    );
  } catch (error) {
    // A start that fails leaves nothing running (a listening connection would keep the process
    // alive after it has said why it cannot start).
    host?.close();
    await keyChanges?.close();
    await clients.close();
    throw error;
  }
  const delivery = startBackchannelDelivery(store.db, host);
  // Expired codes, tokens and sessions are invisible at once; this tells relying parties of the
  // expired sessions (back-channel logout) and reclaims the rows, and those of ended throttles.
  const cleanup = setInterval(
    () =>
      void endExpiredSessions(store.db)
        .then(() => removeExpiredModels(store.db))
        .then(() => forgetEndedThrottles(store.db))
        .catch(() => {}),
    60 * 1000,
  );
  cleanup.unref();
  return {
    host,
    sealer,
    developmentLogin,
    attestationPolicy,
    clientSecret: (app) => firstPartyClientSecret(masterKey, app),
    stop() {
      delivery.stop();
      clearInterval(cleanup);
      host.close();
      void clients.close();
      void keyChanges?.close();
    },
  };
}

/** oidc-provider's own check of client metadata, so a bad registration fails at `clients add`. */
export function clientValidator(host: ProviderHost) {
  return async (metadata: ClientMetadata) => {
    await (host.provider().Client as unknown as { validate(metadata: unknown): Promise<void> }).validate(
      metadata,
    );
  };
}
