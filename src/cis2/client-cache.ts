import { listenFor } from "../store/notifications.ts";
import type { ClientMetadata } from "./clients.ts";

/**
 * Registered clients kept in memory between requests: every authorization, token and UserInfo
 * request reads its client, and the registry changes only through `careid clients add|remove`.
 * Each change notifies the channel below inside its own transaction, so PostgreSQL delivers the
 * notice when it commits; every server listens on a connection of its own and forgets the client
 * named. A load that overlaps a notice is not kept (it may have read the row before the change).
 * While the listening connection is down the cache is empty and bypassed, so a missed notice
 * cannot leave a removed client usable. Only on PostgreSQL: an embedded database is used by one
 * process, which reads the registry every time.
 */
export const clientsChannel = "careid_clients";

const maximumEntries = 10_000;

type Load = () => Promise<ClientMetadata | undefined>;

export type ClientCache = {
  /** The metadata kept, not a copy: a caller copies it before anything may change it. */
  read(clientId: string, load: Load): Promise<ClientMetadata | undefined>;
  close(): Promise<void>;
};

/** No cache: every read loads. */
export const uncached: ClientCache = { read: (_clientId, load) => load(), close: async () => {} };

export function listeningClientCache(databaseUrl: string): ClientCache {
  const entries = new Map<string, ClientMetadata>();
  let generation = 0;
  const listener = listenFor(databaseUrl, clientsChannel, {
    notice(clientId) {
      generation++;
      entries.delete(clientId);
    },
    down() {
      generation++;
      entries.clear();
    },
  });

  return {
    async read(clientId, load) {
      if (!listener.listening()) return load();
      // Not copied here: the adapter copies whatever it hands oidc-provider, which changes it.
      const kept = entries.get(clientId);
      if (kept) return kept;
      const before = generation;
      const metadata = await load();
      // Unknown identifiers are not kept: guessing them must not grow the cache.
      if (metadata && listener.listening() && generation === before) {
        if (entries.size >= maximumEntries) entries.clear();
        entries.set(clientId, structuredClone(metadata));
      }
      return metadata;
    },
    close: () => listener.close(),
  };
}
