import pg from "pg";

/**
 * A PostgreSQL LISTEN on a connection of its own, reconnecting every second while it is down.
 * Caches that several nodes keep use it to forget what another node changed: the change sends a
 * notice inside its own transaction, so PostgreSQL delivers it when (and only if) it commits.
 * `down` runs whenever the connection is lost, since notices sent meanwhile are lost with it;
 * `listening` is true only between a successful LISTEN and the next loss.
 */
export type Listener = { listening(): boolean; close(): Promise<void> };

export function listenFor(
  databaseUrl: string,
  channel: string,
  handlers: { notice(payload: string): void; down(): void },
): Listener {
  let listening = false;
  let closed = false;
  let connection: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  const listen = async () => {
    const client = new pg.Client({ connectionString: databaseUrl });
    connection = client;
    client.on("notification", (notice) => handlers.notice(notice.payload ?? ""));
    const reconnect = () => {
      if (connection !== client) return;
      listening = false;
      handlers.down();
      connection = undefined;
      void client.end().catch(() => {});
      if (!closed) retry = setTimeout(() => void listen(), 1000).unref();
    };
    client.on("error", reconnect);
    client.on("end", reconnect);
    try {
      await client.connect();
      await client.query(`LISTEN ${channel}`);
      if (connection === client && !closed) listening = true;
    } catch {
      reconnect();
    }
  };
  void listen();

  return {
    listening: () => listening,
    async close() {
      closed = true;
      clearTimeout(retry);
      const client = connection;
      connection = undefined;
      listening = false;
      handlers.down();
      await client?.end().catch(() => {});
    },
  };
}
