import { type AddressInfo, createServer } from "node:net";
import { type PhotoDeletion, startPhotoDeletion } from "../apply/photo-deletion.ts";
import { sandboxActor, seedActor } from "../audit/actor.ts";
import { type MutualTlsListener, startMutualTlsListener } from "../cis2/mutual-tls-listener.ts";
import { signInPath } from "../cis2/provider.ts";
import { clientValidator } from "../cis2/start.ts";
import { type Config, ConfigError, realmPath } from "../config.ts";
import { type LdapServer, startLdapServer } from "../directory/ldap/server.ts";
import { type OutboxWorker, startMessageDelivery } from "../messaging/delivery.ts";
import type { Lifecycle } from "../operations/health.ts";
import { readCodeLists } from "../rbac/code-lists.ts";
import { cimPath } from "../registration/pages/app.ts";
import { chooserPath } from "../sandbox/chooser-routes.ts";
import { type PersonaDirectory, watchPersonas } from "../sandbox/personas-watch.ts";
import { sandboxIssuer } from "../sandbox/sandbox-mode.ts";
import { seedDemo } from "../seed/demo.ts";
import { seedDemoApps } from "../seed/demo-authenticators.ts";
import { buildServer } from "../server.ts";
import type { Store } from "../store/database.ts";
import { DatabaseBusyError } from "../store/embedded-lock.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import { openConfiguredStore, prepare } from "./command-store.ts";
import { type Cis2, startCis2 } from "./start-cis2.ts";

/*
 * `careid serve` (and `careid sandbox`): the service assembled and run until stopped. Everything
 * it starts, in order (the database, CIS2, HTTP, LDAP, the smartcard mTLS listener, message
 * delivery, photo deletion), and the drain on SIGTERM.
 */

/** PORT=0 asks for any free port; the issuer must name the real one, so it is chosen first. */
async function withFreePort(config: Config): Promise<Pick<Config, "port" | "issuer">> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, config.host, resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return { port, issuer: `http://localhost:${port}${realmPath}` };
}

export async function serve(
  config: Config,
  demo: boolean,
  sandbox?: { personasFile: string },
): Promise<number> {
  if (config.port === 0 && !process.env.CAREID_ISSUER)
    config = { ...config, ...(await withFreePort(config)) };
  if (sandbox) config = { ...config, issuer: sandboxIssuer(config.issuer) };
  let connectionLost = (_error: Error) => {};
  const store = await openConfiguredStore(config, "serve", undefined, (error) => connectionLost(error));
  let running: Running;
  try {
    running = await startServing(config, store, demo, sandbox);
  } catch (error) {
    await store.close().catch(() => {});
    if (error instanceof ConfigError || error instanceof DatabaseBusyError) throw error;
    // One line an operator can act on, not a stack: the start-up could not complete.
    console.error(`careid serve: cannot start: ${startFailure(error, store)}`);
    return 1;
  }
  const { app, cis2, ldap, mutualTls, lifecycle, outbox, photoDeletion, personas } = running;
  connectionLost = (error) => app.log.warn({ err: error }, "database connection lost; reconnecting");
  let stopping = false;
  const stop = async (signal: string, drainSeconds: number) => {
    if (stopping) process.exit(1);
    stopping = true;
    // Readiness fails first, so a load balancer sends no more; requests keep being served meanwhile.
    lifecycle.draining = true;
    app.log.info({ signal, drainSeconds }, "draining: readiness now fails; requests in flight finish");
    await new Promise((resolve) => setTimeout(resolve, drainSeconds * 1000));
    await app.close();
    await ldap.close();
    await mutualTls?.close();
    await outbox.stop();
    await photoDeletion.stop();
    personas?.stop();
    cis2.stop();
    await store.close();
    process.exit(0);
  };
  // A service manager sends SIGTERM and waits for the drain; Ctrl+C at a terminal stops at once.
  process.on("SIGINT", () => void stop("SIGINT", 0));
  process.on("SIGTERM", () => void stop("SIGTERM", config.drainSeconds));
  // Browsers reach every part at the issuer's origin: one host name for cookies, CIS2 and WebAuthn.
  const base = new URL(config.issuer).origin;
  console.log(
    [
      "",
      `Care Identity Service is running on ${store.kind === "pglite" ? `the embedded database in ${store.location}` : store.location}`,
      `  Home page        ${base}/`,
      `  Job roles (API)  ${base}/api/rbac/job-roles`,
      `  Organisations    ${base}/api/organisations`,
      `  Health           ${base}/health/ready`,
      `  Metrics          ${base}/metrics`,
      `  CIS2 issuer      ${config.issuer}`,
      `  CIS2 discovery   ${config.issuer}/.well-known/openid-configuration`,
      `  RA pages (CIM)   ${base}${cimPath}/`,
      ...(cis2.developmentLogin ? [`  Demo users       ${base}/demo/users (development sign-in is on)`] : []),
      ...(personas
        ? [
            `  SANDBOX          personas from ${personas.path}, chosen at ${base}${chooserPath("…")} in place of authenticators`,
          ]
        : []),
      `  LDAP directory   ${ldap.url}/o=nhs${ldap.secureUrl ? ` and ${ldap.secureUrl}/o=nhs` : ""}`,
      ...(mutualTls ? [`  Smartcard mTLS   ${mutualTls.url}`] : []),
      "Press Ctrl+C to stop.",
      "",
    ].join("\n"),
  );
  return new Promise<number>(() => {});
}

type Running = {
  app: Awaited<ReturnType<typeof buildServer>>;
  cis2: Cis2;
  ldap: LdapServer;
  mutualTls: MutualTlsListener | undefined;
  lifecycle: Lifecycle;
  outbox: OutboxWorker;
  photoDeletion: PhotoDeletion;
  /** The sandbox's personas, when `careid sandbox` started the service. */
  personas?: PersonaDirectory;
};

/** Everything `serve` starts, in order; a failure part-way closes what had started. */
async function startServing(
  config: Config,
  store: Store,
  demo: boolean,
  sandbox?: { personasFile: string },
): Promise<Running> {
  await prepare(store);
  const demoLoaded = demo && (await seedDemo(store.db, seedActor()));
  if (demoLoaded) console.log("Loaded the demo directory into the new database.");
  // The sandbox's synthetic directory is the demo's fictional organisations and people.
  if (sandbox && (await seedDemo(store.db, seedActor())))
    console.log("Loaded the synthetic directory into the new sandbox database.");
  const lists = await readCodeLists(store.db);
  const cis2 = await startCis2(config, store, lists, { seed: demo, actor: seedActor() });
  // The app holders' apps are sealed, so they come once CIS2's sealer exists.
  if (demoLoaded) await seedDemoApps(store.db, seedActor(), cis2.sealer);
  const personas = sandbox
    ? await watchPersonas(
        sandbox.personasFile,
        {
          db: store.db,
          actor: sandboxActor(),
          lists,
          sealer: cis2.sealer,
          validate: clientValidator(cis2.host),
        },
        console.log,
      )
    : undefined;
  const lifecycle: Lifecycle = { draining: false };
  const app = await buildServer({
    config,
    store,
    lists,
    demo,
    cis2,
    lifecycle,
    sandbox: personas && { personas },
  });
  const started: { close(): Promise<void> }[] = [app];
  try {
    await app.listen({ port: config.port, host: config.host });
    const ldap = await startLdapServer({
      db: store.db,
      lists,
      host: config.host,
      port: config.ldapPort,
      tls:
        config.ldapCertFile && config.ldapKeyFile
          ? { certFile: config.ldapCertFile, keyFile: config.ldapKeyFile, port: config.ldapsPort }
          : undefined,
      anonymous: config.ldapAnonymous,
      log: app.log.child({ component: "ldap" }),
    });
    started.push(ldap);
    const mutualTls = config.mtls
      ? await startMutualTlsListener({
          db: store.db,
          host: config.host,
          port: config.mtls.port,
          certFile: config.mtls.certFile,
          keyFile: config.mtls.keyFile,
          signInBase: new URL(signInPath, config.issuer).href,
        })
      : undefined;
    const outbox = startMessageDelivery(
      config,
      store.db,
      cis2.sealer,
      app.log.child({ component: "outbox" }),
    );
    const photoDeletion = startPhotoDeletion({
      db: store.db,
      log: (error) =>
        app.log.child({ component: "apply" }).error({ err: error }, "photo deletion round failed"),
    });
    return { app, cis2, ldap, mutualTls, lifecycle, outbox, photoDeletion, personas };
  } catch (error) {
    for (const part of started.reverse()) await part.close().catch(() => {});
    personas?.stop();
    cis2.stop();
    throw error;
  }
}

/** Why start-up failed, in words that say what to look at. */
function startFailure(error: unknown, store: Store): string {
  const { code, message } = error as { code?: string; message?: string };
  if (isDatabaseUnavailable(error))
    return `the database at ${store.location} is unreachable (${code ?? message}); check that PostgreSQL is running and DATABASE_URL is right`;
  if (code === "EADDRINUSE")
    return `${message}: another process holds that port; stop it or set PORT / CAREID_LDAP_PORT`;
  return (message ?? String(error)).split("\n")[0] as string;
}
