import { readFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Db } from "../../store/database.ts";
import { type ConnectionLimits, defaultConnectionLimits, serveConnection } from "./connection.ts";
import type { SearchLimits } from "./search.ts";
import type { LdapLog } from "./session.ts";
import { makeTree } from "./tree.ts";

/**
 * The directory's LDAP server: LDAPv3 on a TCP port and, when a certificate and key are
 * configured, LDAPS on another. Entries are read from the live database on every search.
 */
export type LdapServerOptions = {
  db: Db;
  lists: CodeLists;
  host: string;
  port: number;
  tls?: { certFile: string; keyFile: string; port: number };
  anonymous: boolean;
  limits?: Partial<SearchLimits>;
  connectionLimits?: Partial<ConnectionLimits>;
  log: LdapLog;
};

export type LdapServer = { url: string; port: number; secureUrl?: string; close(): Promise<void> };

/** slapd's defaults: 500 entries and an hour; a paged search may read the whole tree page by page. */
export const defaultSearchLimits: SearchLimits = { sizeLimit: 500, timeLimitSeconds: 3600 };

export async function startLdapServer(options: LdapServerOptions): Promise<LdapServer> {
  const sessionOptions = {
    tree: makeTree(options.db, options.lists),
    limits: { ...defaultSearchLimits, ...options.limits },
    anonymous: options.anonymous,
    log: options.log,
  };
  const limits = { ...defaultConnectionLimits, ...options.connectionLimits };
  const sockets = new Set<Socket>();
  const accept = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    serveConnection(socket, sessionOptions, limits);
  };
  const servers: Server[] = [];
  const plain = createServer(accept);
  const port = await listen(plain, options.host, options.port);
  servers.push(plain);
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  let secureUrl: string | undefined;
  if (options.tls) {
    const secure = createTlsServer(
      { cert: readFileSync(options.tls.certFile), key: readFileSync(options.tls.keyFile) },
      (socket) => accept(socket),
    );
    secure.on("tlsClientError", () => {});
    const securePort = await listen(secure, options.host, options.tls.port);
    servers.push(secure);
    secureUrl = `ldaps://${host}:${securePort}`;
  }
  return {
    url: `ldap://${host}:${port}`,
    port,
    secureUrl,
    async close() {
      for (const server of servers) server.close();
      for (const socket of sockets) socket.destroy();
      await Promise.all(
        servers.map((server) => new Promise((resolve) => server.close(() => resolve(undefined)))),
      );
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const address = server.address();
      resolve(typeof address === "object" && address ? address.port : port);
    });
  });
}
