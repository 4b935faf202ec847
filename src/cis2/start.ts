import { systemActor } from "../audit/actor.ts";
import { forgetEndedThrottles } from "../authenticators/throttle.ts";
import {
  type AttestationPolicy,
  loadAttestationPolicy,
} from "../authenticators/webauthn/attestation/policy.ts";
import type { Config } from "../config.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { loadMasterKey } from "../secrets/master-key.ts";
import { type Sealer, sealerFor } from "../secrets/sealed.ts";
import type { Store } from "../store/database.ts";
import { listenFor } from "../store/notifications.ts";
import { removeExpiredModels } from "./adapter.ts";
import { startBackchannelDelivery } from "./backchannel.ts";
import { listeningClientCache, uncached } from "./client-cache.ts";
import type { ClientMetadata } from "./clients.ts";
import { hostProvider, type ProviderHost } from "./host.ts";
import { ensureSigningKey, signingKeysChannel } from "./keys.ts";
import { endExpiredSessions } from "./session-revocation.ts";

export type Cis2Provider = {
  host: ProviderHost;
  sealer: Sealer;
  developmentLogin: boolean;
  attestationPolicy: AttestationPolicy;
  stop(): void;
};

/**
 * Starts CIS2 Authentication: keys, the provider, back-channel logout delivery. `prepare` runs
 * once the provider exists and before anything is delivered (the clients of whatever signs in
 * through it, src/app/start-cis2.ts); a start that fails there leaves nothing running.
 */
export async function startCis2Provider(
  config: Config,
  store: Store,
  lists: CodeLists,
  settings: {
    developmentLogin: boolean;
    prepare(started: { host: ProviderHost; sealer: Sealer; masterKey: Buffer }): Promise<void>;
  },
): Promise<Cis2Provider> {
  const attestationPolicy = await loadAttestationPolicy(config.webauthn);
  const masterKey = loadMasterKey(config);
  const sealer = sealerFor(masterKey);
  const { developmentLogin } = settings;
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
    await settings.prepare({ host, sealer, masterKey });
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
