import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import type { TestContext } from "node:test";
import type { FastifyInstance } from "fastify";
import { operatorActor } from "../../src/audit/actor.ts";
import { type Cis2, startCis2 } from "../../src/cis2/start.ts";
import { type Config, loadConfig, realmPath } from "../../src/config.ts";
import { readCodeLists } from "../../src/rbac/code-lists.ts";
import { seedDemo } from "../../src/seed/demo.ts";
import { buildServer } from "../../src/server.ts";
import type { Store } from "../../src/store/database.ts";
import { testStore } from "./test-store.ts";

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
): Promise<Cis2Server> {
  const store = await testStore(t);
  const port = await freePort();
  const origin = `http://${hostName}:${port}`;
  const config = loadConfig({
    PORT: String(port),
    LOG_LEVEL: "silent",
    CAREID_MASTER_KEY: "ab".repeat(32),
    CAREID_ISSUER: `${origin}${realmPath}`,
    CAREID_DATA_DIR: "/nonexistent-careid-test-dir",
    ...environment,
  });
  await seedDemo(store.db, operatorActor());
  const lists = await readCodeLists(store.db);
  const cis2 = await startCis2(config, store, lists, { seed: true, actor: operatorActor() });
  const app = await buildServer({ config, store, lists, demo: true, cis2 });
  await app.listen({ port, host: "127.0.0.1" });
  t.after(async () => {
    cis2.stop();
    await app.close();
  });
  return { app, store, cis2, config, origin, issuer: config.issuer };
}
