import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import type { Writable } from "node:stream";
import type { TestContext } from "node:test";
import type { FastifyInstance } from "fastify";
import { type Cis2, startCis2 } from "../../src/app/start-cis2.ts";
import { operatorActor } from "../../src/audit/actor.ts";
import { type Config, loadConfig, realmPath } from "../../src/config.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { seedDemo } from "../../src/seed/demo.ts";
import { buildServer } from "../../src/server.ts";
import type { Store } from "../../src/store/database.ts";
import { testMasterKey, testStore } from "./test-store.ts";

export type Cis2Server = {
  app: FastifyInstance;
  store: Store;
  cis2: Cis2;
  config: Config;
  origin: string;
  issuer: string;
};

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * A running service on the demo directory with CIS2 and the development login, on a free port.
 * Browsers refuse an IP address as a WebAuthn RP ID, so WebAuthn tests name the host localhost.
 */
export async function startCis2Server(
  t: TestContext,
  environment: Record<string, string> = {},
  hostName = "127.0.0.1",
  options: {
    /** Where the server's logs go (at LOG_LEVEL), to read what it logged. */
    logStream?: Writable;
    /** "https": the public origin and issuer are https, TLS ending in front (see Browser). */
    scheme?: "http" | "https";
  } = {},
): Promise<Cis2Server> {
  const server = await serveCis2(await testStore(t), { environment, hostName, ...options });
  t.after(() => server.stop());
  return server;
}

/**
 * The service on a store the caller owns (the demo directory loaded if it is empty), on the
 * given port or a free one; stop() leaves the store open. A test restarts it on the same port
 * to find the same cookies' origin.
 */
export async function serveCis2(
  store: Store,
  options: {
    environment?: Record<string, string>;
    hostName?: string;
    port?: number;
    /** Where the server's logs go (at LOG_LEVEL), to read what it logged. */
    logStream?: Writable;
    /** "https": the public origin and issuer are https, TLS ending in front (see Browser). */
    scheme?: "http" | "https";
  } = {},
): Promise<Cis2Server & { stop(): Promise<void> }> {
  const port = options.port ?? (await freePort());
  const origin = `${options.scheme ?? "http"}://${options.hostName ?? "127.0.0.1"}:${port}`;
  const config = loadConfig({
    PORT: String(port),
    LOG_LEVEL: process.env.DEBUG_LOG_LEVEL ?? "silent",
    CAREID_MASTER_KEY: testMasterKey.toString("hex"),
    CAREID_ISSUER: `${origin}${realmPath}`,
    CAREID_DATA_DIR: "/nonexistent-careid-test-dir",
    ...options.environment,
  });
  await seedDemo(store.db, operatorActor());
  const lists = await readCodeLists(store.db);
  const cis2 = await startCis2(config, store, lists, { seed: true, actor: operatorActor() });
  const app = await buildServer({ config, store, lists, demo: true, cis2, logStream: options.logStream });
  const stop = async () => {
    cis2.stop();
    await app.close();
  };
  try {
    await app.listen({ port, host: "127.0.0.1" });
  } catch (error) {
    // Another test took the free port between the probe and the listen: try another.
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || options.port !== undefined) throw error;
    await stop();
    return serveCis2(store, options);
  }
  return { app, store, cis2, config, origin, issuer: config.issuer, stop };
}
