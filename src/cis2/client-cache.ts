import pg from "pg";
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
  read(clientId: string, load: Load): Promise<ClientMetadata | undefined>;
  close(): Promise<void>;
};

/** No cache: every read loads. */
export const uncached: ClientCache = { read: (_clientId, load) => load(), close: async () => {} };

export function listeningClientCache(databaseUrl: string): ClientCache {
  const entries = new Map<string, ClientMetadata>();
  let generation = 0;
  let listening = false;
  let closed = false;
  let connection: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const stopListening = () => {
    listening = false;
    generation++;
    entries.clear();
  };
  const listen = async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    connection = client;
    client.on("notification", (notice) => {
      generation++;
      entries.delete(notice.payload ?? "");
    });
    const reconnect = () => {
      if (connection !== client) return;
      stopListening();
      connection = undefined;
      void client.end().catch(() => {});
      if (!closed) retry = setTimeout(() => void listen(), 1000).unref();
    };
    client.on("error", reconnect);
    client.on("end", reconnect);
    try {
      await client.connect();
      await client.query(`LISTEN ${clientsChannel}`);
      if (connection === client && !closed) listening = true;
    } catch {
      reconnect();
    }
  };
  void listen();

  return {
    async read(clientId, load) {
      if (!listening) return load();
      const kept = entries.get(clientId);
      // A copy: oidc-provider may change what it is given.
      if (kept) return structuredClone(kept);
      const before = generation;
      const metadata = await load();
      // Unknown identifiers are not kept: guessing them must not grow the cache.
      if (metadata && listening && generation === before) {
        if (entries.size >= maximumEntries) entries.clear();
        entries.set(clientId, structuredClone(metadata));
      }
      return metadata;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const client = connection;
      connection = undefined;
      stopListening();
      await client?.end().catch(() => {});
    },
  };
}
