import type { JWK } from "jose";
import type Provider from "oidc-provider";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { keySchedule } from "./keys.ts";
import { createProvider, type ProviderOptions } from "./provider.ts";

/**
 * Holds the running provider and rebuilds it when the signing keys change (a rotated key starts
 * signing, a retired one leaves the JWKS). Everything else it needs lives in the database, so a
 * rebuild loses nothing; in-flight requests finish on the provider they started with.
 */
export type ProviderHost = {
  provider(): Provider;
  callback(): ReturnType<Provider["callback"]>;
  refresh(): Promise<void>;
  /** Called with every provider built, now and after each rebuild (to attach event listeners). */
  onProvider(listener: (provider: Provider) => void): void;
  close(): void;
};

export async function hostProvider(
  options: Omit<ProviderOptions, "jwks"> & { db: Db; sealer: Sealer },
): Promise<ProviderHost> {
  let provider: Provider;
  let callback: ReturnType<Provider["callback"]>;
  let fingerprint = "";
  let timer: NodeJS.Timeout | undefined;
  let listeners: ((provider: Provider) => void)[] = [];

  const build = (jwks: JWK[]) => {
    provider = createProvider({ ...options, jwks });
    callback = provider.callback();
    for (const listener of listeners) listener(provider);
  };

  const refresh = async () => {
    const schedule = await keySchedule(options.db, options.sealer);
    const next = schedule.jwks.map((key) => key.kid).join(",");
    if (next !== fingerprint) {
      fingerprint = next;
      build(schedule.jwks);
    }
    clearTimeout(timer);
    // Re-read at the next scheduled change, and at least every minute for rotations made elsewhere.
    const wait = Math.min(
      60_000,
      schedule.changesAt ? Math.max(1000, schedule.changesAt.getTime() - Date.now()) : 60_000,
    );
    timer = setTimeout(() => void refresh().catch(() => {}), wait);
    timer.unref();
  };

  await refresh();
  return {
    provider: () => provider,
    callback: () => callback,
    refresh,
    onProvider: (listener) => {
      listeners.push(listener);
      listener(provider);
    },
    close: () => {
      clearTimeout(timer);
      listeners = [];
    },
  };
}
