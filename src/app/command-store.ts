import { operatorActor, systemActor } from "../audit/actor.ts";
import { withAuditKey } from "../audit/chain-key.ts";
import { pinUnkeyedEvents } from "../audit/keying.ts";
import type { Cis2Provider } from "../cis2/start.ts";
import type { Config } from "../config.ts";
import { readCodeLists, syncCodeLists } from "../rbac/code-lists.ts";
import { loadMasterKey } from "../secrets/master-key.ts";
import { openStore, type Store } from "../store/database.ts";
import { migrate } from "../store/migrate.ts";
import { startCis2 } from "./start-cis2.ts";

/**
 * What every command stands on: the configured database, migrated and carrying the audit key,
 * and for the few that need it CIS2 started as serve starts it. Here, above the capabilities,
 * because readying the database touches several of them (the audit chain, the code lists).
 */
export async function prepare(store: Store): Promise<string[]> {
  const applied = await migrate(store);
  await pinUnkeyedEvents(store.db);
  await syncCodeLists(store.db, systemActor("migrate"));
  return applied;
}

export async function withStore(
  config: Config,
  purpose: string,
  work: (store: Store) => Promise<number>,
  masterKey?: Buffer,
): Promise<number> {
  const store = await openConfiguredStore(config, purpose, masterKey);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export async function withCis2(
  config: Config,
  purpose: string,
  work: (context: { store: Store; cis2: Cis2Provider }) => Promise<number>,
): Promise<number> {
  return withStore(config, purpose, async (store) => {
    await prepare(store);
    const cis2 = await startCis2(config, store, await readCodeLists(store.db), {
      seed: false,
      actor: operatorActor(),
    });
    try {
      return await work({ store, cis2 });
    } finally {
      cis2.stop();
    }
  });
}

/** The configured database, carrying the audit key derived from the master key. */
export async function openConfiguredStore(
  config: Config,
  purpose: string,
  masterKey?: Buffer,
  onConnectionError?: (error: Error) => void,
): Promise<Store> {
  const key = masterKey ?? loadMasterKey(config);
  const store = config.databaseUrl
    ? await openStore({ databaseUrl: config.databaseUrl, onConnectionError })
    : await openStore({ dataDir: config.dataDir, purpose });
  return withAuditKey(store, key);
}
