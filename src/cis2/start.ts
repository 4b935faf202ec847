import { type Actor, systemActor } from "../audit/actor.ts";
import { accountClientSecret, ensureAccountClient } from "../authenticators/account/client.ts";
import {
  type AttestationPolicy,
  loadAttestationPolicy,
} from "../authenticators/webauthn/attestation/policy.ts";
import type { Config } from "../config.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { loadMasterKey } from "../secrets/master-key.ts";
import { type Sealer, sealerFor } from "../secrets/sealed.ts";
import { seedDemoSignIn } from "../seed/demo-sign-in.ts";
import type { Store } from "../store/database.ts";
import { removeExpiredModels } from "./adapter.ts";
import { startBackchannelDelivery } from "./backchannel.ts";
import type { ClientMetadata } from "./clients.ts";
import { hostProvider, type ProviderHost } from "./host.ts";
import { ensureSigningKey } from "./keys.ts";
import { endExpiredSessions } from "./session-revocation.ts";

export type Cis2 = {
  host: ProviderHost;
  sealer: Sealer;
  developmentLogin: boolean;
  attestationPolicy: AttestationPolicy;
  /** The secret of the "your authenticators" page's own CIS2 client. */
  accountClientSecret: string;
  stop(): void;
};

export function sealerFromConfig(config: Config): Sealer {
  return sealerFor(loadMasterKey(config.masterKey, config.dataDir));
}

/** Starts CIS2 Authentication: keys, the provider, back-channel logout delivery, and the demo's clients. */
export async function startCis2(
  config: Config,
  store: Store,
  lists: CodeLists,
  demo: { seed: boolean; actor: Actor },
): Promise<Cis2> {
  const attestationPolicy = await loadAttestationPolicy(config.webauthn);
  const masterKey = loadMasterKey(config.masterKey, config.dataDir);
  const sealer = sealerFor(masterKey);
  const developmentLogin = config.developmentLogin ?? demo.seed;
  await ensureSigningKey(store.db, systemActor("cis2"), sealer);
  const host = await hostProvider({
    issuer: config.issuer,
    db: store.db,
    sealer,
    masterKey,
    lists,
    developmentLogin,
  });
  if (demo.seed)
    await seedDemoSignIn(store.db, demo.actor, sealer, clientValidator(host), {
      issuer: config.issuer,
      clientId: config.cimClientId,
    });
  await ensureAccountClient(
    store.db,
    systemActor("cis2"),
    sealer,
    { issuer: config.issuer, masterKey },
    clientValidator(host),
  );
  const delivery = startBackchannelDelivery(store.db, host);
  // Expired codes, tokens and sessions are invisible at once; this tells relying parties of the
  // expired sessions (back-channel logout) and reclaims the rows.
  const cleanup = setInterval(
    () =>
      void endExpiredSessions(store.db)
        .then(() => removeExpiredModels(store.db))
        .catch(() => {}),
    60 * 1000,
  );
  cleanup.unref();
  return {
    host,
    sealer,
    developmentLogin,
    attestationPolicy,
    accountClientSecret: accountClientSecret(masterKey),
    stop() {
      delivery.stop();
      clearInterval(cleanup);
      host.close();
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
