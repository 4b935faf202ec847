#!/usr/bin/env node
import { type AddressInfo, createServer } from "node:net";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { defaultAgentOptions, runAgent } from "./agent/run.ts";
import { type Cis2, startCis2 } from "./app/start-cis2.ts";
import { applyCommands } from "./apply/commands.ts";
import { type PhotoDeletion, startPhotoDeletion } from "./apply/photo-deletion.ts";
import { type Actor, operatorActor, sandboxActor, systemActor } from "./audit/actor.ts";
import { withAuditKey } from "./audit/chain-key.ts";
import { pinUnkeyedEvents } from "./audit/keying.ts";
import { verifyAuditLog } from "./audit/verify.ts";
import { authenticatorCommands } from "./authenticators/commands.ts";
import { federationCommands } from "./authenticators/federation/cli.ts";
import { cardCommands } from "./authenticators/smartcard/cli.ts";
import { environmentOf } from "./cis2/client-rules.ts";
import { addClient, listClients, removeClient, showClient } from "./cis2/clients.ts";
import { defaultGraceSeconds, ensureSigningKey, listSigningKeys, rotateSigningKeys } from "./cis2/keys.ts";
import { type MutualTlsListener, startMutualTlsListener } from "./cis2/mutual-tls-listener.ts";
import { signInPath } from "./cis2/provider.ts";
import { clientValidator } from "./cis2/start.ts";
import { type Config, ConfigError, loadConfig, realmPath, settings } from "./config.ts";
import { directoryCommands } from "./directory/cli.ts";
import { ldapCommands } from "./directory/ldap/commands.ts";
import { type LdapServer, startLdapServer } from "./directory/ldap/server.ts";
import { DomainError, InvalidInputError } from "./errors.ts";
import { readJsonFile } from "./json-file.ts";
import { type OutboxWorker, startMessageDelivery } from "./messaging/delivery.ts";
import type { Lifecycle } from "./operations/health.ts";
import { readCodeLists, syncCodeLists } from "./rbac/code-lists.ts";
import { organisationCommands } from "./rbac/ods/cli.ts";
import { registrationCommands } from "./registration/commands.ts";
import { cimPath } from "./registration/pages/app.ts";
import { chooserPath } from "./sandbox/chooser-routes.ts";
import { type PersonaDirectory, watchPersonas } from "./sandbox/personas-watch.ts";
import { defaultPersonasFile, sandboxEnvironment, sandboxIssuer } from "./sandbox/sandbox-mode.ts";
import { existingMasterKey, loadMasterKey, sealerFromConfig } from "./secrets/master-key.ts";
import { seedCommands } from "./seed/commands.ts";
import { seedDemo } from "./seed/demo.ts";
import { seedDemoApps } from "./seed/demo-authenticators.ts";
import { seedSynthetic } from "./seed/synthetic.ts";
import { buildServer } from "./server.ts";
import { signingCommands } from "./signing/cli.ts";
import { openStore, type Store } from "./store/database.ts";
import { DatabaseBusyError } from "./store/embedded-lock.ts";
import { migrate } from "./store/migrate.ts";
import { isDatabaseUnavailable } from "./store/unavailable.ts";

/** One entry per command: its usage line, what it does, and how it runs. */
type Command = {
  usage: string;
  summary: string;
  options?: Record<string, { type: "string" | "boolean"; help: string }>;
  run(values: Record<string, string | boolean | undefined>, config: Config): Promise<number>;
};

export const commands: Record<string, Command> = {
  serve: {
    usage: "careid serve [--demo]",
    summary: "Migrate the database and serve HTTP until stopped (SIGINT or SIGTERM).",
    options: { demo: { type: "boolean", help: "load the demo directory into an empty database first" } },
    run: (values, config) => serve(config, values.demo === true),
  },
  sandbox: {
    usage: "careid sandbox [--personas FILE]",
    summary:
      "Run a sandbox on this machine: the embedded database, a synthetic directory, the personas of FILE (applied again whenever it is saved) and a persona chooser in place of authenticators.",
    options: {
      personas: {
        type: "string",
        help: `the personas file (default ${defaultPersonasFile}; written with examples if missing)`,
      },
    },
    run: (values) => {
      // The sandbox's own settings, whatever the environment names for a real service.
      const config = { ...loadConfig(sandboxEnvironment(process.env)), databaseUrl: undefined };
      const personasFile = resolve(
        typeof values.personas === "string" ? values.personas : defaultPersonasFile,
      );
      return serve(config, false, { personasFile });
    },
  },
  migrate: {
    usage: "careid migrate",
    summary: "Apply database migrations and load the national RBAC code lists.",
    run: (_values, config) =>
      withStore(config, "migrate", async (store) => {
        const applied = await prepare(store);
        console.log(applied.length > 0 ? `Applied ${applied.join(", ")}.` : "The database is up to date.");
        return 0;
      }),
  },
  "seed demo": {
    usage: "careid seed demo",
    summary:
      "Load the demo directory (fictional organisations and people, their development password and the example app's client) into an empty database.",
    run: (_values, config) =>
      withStore(config, "seed demo", async (store) => {
        await prepare(store);
        const loaded = await seedDemo(store.db, seedActor());
        // Then what serve --demo adds, by the same start: the demo is whole as soon as it is
        // seeded. Never on a database that already had people: they must not get the demo password.
        if (loaded) {
          const cis2 = await startCis2(config, store, await readCodeLists(store.db), {
            seed: true,
            actor: seedActor(),
          });
          await seedDemoApps(store.db, seedActor(), cis2.sealer);
          cis2.stop();
        }
        console.log(
          loaded
            ? "Loaded the demo directory."
            : "The database already has people; the demo directory was not loaded.",
        );
        return 0;
      }),
  },
  "seed synthetic": {
    usage: "careid seed synthetic --people N [--positions-per-person 1.5]",
    summary: "Bulk-load N synthetic people with positions, for load and scale testing.",
    options: {
      people: { type: "string", help: "how many people to create" },
      "positions-per-person": { type: "string", help: "average positions per person (default 1.5)" },
    },
    run: (values, config) =>
      withStore(config, "seed synthetic", async (store) => {
        const people = Number(values.people);
        const ratio = Number(values["positions-per-person"] ?? "1.5");
        if (!Number.isInteger(people) || people < 1 || people > 10_000_000) {
          throw InvalidInputError.field("--people", "must be a whole number from 1 to 10000000");
        }
        if (!(ratio >= 1 && ratio <= 5))
          throw InvalidInputError.field("--positions-per-person", "must be from 1 to 5");
        await prepare(store);
        const result = await seedSynthetic(store, seedActor(), {
          people,
          positionsPerPerson: ratio,
          progress: console.log,
        });
        console.log(
          `Loaded ${result.people} people and ${result.positions} positions in ${result.seconds.toFixed(1)} s.`,
        );
        return 0;
      }),
  },
  "audit verify": {
    usage: "careid audit verify",
    summary:
      "Check the audit log's keyed hash chain (needs the master key); exits 1 and names each break if it was tampered with.",
    run: (_values, config) => {
      // The key that wrote the log, never a new one: a fresh key would fail every event.
      const masterKey = existingMasterKey(config);
      if (!masterKey)
        throw new ConfigError([
          `the audit log is verified with the master key that wrote it: set CAREID_MASTER_KEY (no master.key in ${config.dataDir})`,
        ]);
      return withStore(
        config,
        "audit verify",
        async (store) => {
          const report = await verifyAuditLog(store.db);
          for (const problem of report.problems)
            console.error(
              `event ${problem.through ? `${problem.seq}..${problem.through}` : problem.seq}: ${problem.kind}: ${problem.message}`,
            );
          const wrongKey = report.problems.some((problem) => problem.kind === "wrong-key");
          console.log(
            report.ok
              ? `The audit log is intact: ${report.checked} events verified.`
              : wrongKey
                ? "The audit log cannot be verified with this master key: it is probably not the key that wrote the log."
                : `The audit log has ${report.problems.length} break(s).`,
          );
          return report.ok ? 0 : 1;
        },
        masterKey,
      );
    },
  },
  ...ldapCommands(withStore, prepare),
  ...directoryCommands(withStore, prepare),
  ...cardCommands(withStore, prepare),
  ...organisationCommands(withStore, prepare),
  ...federationCommands(withStore, prepare),
  ...signingCommands(withStore, prepare),
  ...seedCommands(withStore, prepare),
  ...registrationCommands(withStore, prepare),
  "clients add": {
    usage: "careid clients add --file client.json",
    summary: "Register a CIS2 relying party from RFC 7591 metadata; prints the stored client.",
    options: {
      file: {
        type: "string",
        help: 'JSON client metadata (client_id, redirect_uris, token_endpoint_auth_method ..., and "environment": "development" or "production", the default)',
      },
    },
    run: (values, config) =>
      withCis2(config, "clients add", async ({ store, cis2 }) => {
        if (typeof values.file !== "string") throw InvalidInputError.field("--file", "is required");
        const metadata = readJsonFileOrRefuse(values.file);
        const stored = await addClient(
          store.db,
          operatorActor(),
          cis2.sealer,
          metadata,
          clientValidator(cis2.host),
          { environment: environmentOf(metadata), clientIdForm: "registry" },
        );
        console.log(JSON.stringify(stored, null, 2));
        return 0;
      }),
  },
  "clients list": {
    usage: "careid clients list",
    summary: "List registered relying parties.",
    run: (_values, config) =>
      withStore(config, "clients list", async (store) => {
        await prepare(store);
        for (const client of await listClients(store.db))
          console.log(`${client.client_id}\t${client.client_name ?? ""}`);
        return 0;
      }),
  },
  "clients show": {
    usage: "careid clients show --id CLIENT_ID",
    summary: "Show one relying party's metadata (never its secret).",
    options: { id: { type: "string", help: "the client_id" } },
    run: (values, config) =>
      withStore(config, "clients show", async (store) => {
        await prepare(store);
        console.log(JSON.stringify(await showClient(store.db, String(values.id ?? "")), null, 2));
        return 0;
      }),
  },
  "clients remove": {
    usage: "careid clients remove --id CLIENT_ID",
    summary: "Remove a relying party; its tokens stop working at once.",
    options: { id: { type: "string", help: "the client_id" } },
    run: (values, config) =>
      withStore(config, "clients remove", async (store) => {
        await prepare(store);
        await removeClient(store.db, operatorActor(), String(values.id ?? ""));
        console.log(`Removed ${values.id}.`);
        return 0;
      }),
  },
  "keys rotate": {
    usage: "careid keys rotate [--grace-seconds 3600]",
    summary: "Publish a new signing key now; it signs after the grace period, when the old one retires.",
    options: { "grace-seconds": { type: "string", help: "seconds before the new key signs (default 3600)" } },
    run: (values, config) =>
      withStore(config, "keys rotate", async (store) => {
        await prepare(store);
        const grace = Number(values["grace-seconds"] ?? defaultGraceSeconds);
        if (!Number.isInteger(grace) || grace < 0)
          throw InvalidInputError.field("--grace-seconds", "must be a whole number of seconds");
        const sealer = sealerFromConfig(config);
        await ensureSigningKey(store.db, operatorActor(), sealer);
        const rotated = await rotateSigningKeys(store.db, operatorActor(), sealer, grace);
        console.log(
          `New key ${rotated.kid} is published now and signs from ${rotated.signsFrom.toISOString()}; retiring ${rotated.retired.join(", ") || "none"}.`,
        );
        return 0;
      }),
  },
  "keys list": {
    usage: "careid keys list",
    summary: "List signing keys with when each signs and retires.",
    run: (_values, config) =>
      withStore(config, "keys list", async (store) => {
        await prepare(store);
        console.log(JSON.stringify(await listSigningKeys(store.db), null, 2));
        return 0;
      }),
  },
  ...authenticatorCommands(withStore, prepare),
  ...applyCommands(withStore, prepare),
  agent: {
    usage:
      "careid agent --service URL [--module PATH] [--port N] [--blank-unlock-code CODE] [--signing-origins URL,...]",
    summary:
      "Run the workstation smartcard agent: the card through PKCS#11, a localhost page for the passcode, sign-in for the service's pages.",
    options: {
      service: {
        type: "string",
        help: "the service's base URL; only pages from its origin may call the agent",
      },
      module: { type: "string", help: `PKCS#11 module (default ${defaultAgentOptions.modulePath}, OpenSC)` },
      port: {
        type: "string",
        help: `localhost port (default ${defaultAgentOptions.port}; 0 picks a free one)`,
      },
      "blank-unlock-code": { type: "string", help: "the unlock code (SO PIN) blank cards arrive with" },
      "signing-origins": {
        type: "string",
        help: "comma-separated origins of prescribing applications whose pages may ask the card to sign",
      },
    },
    run: async (values) => {
      const port = Number(values.port ?? defaultAgentOptions.port);
      if (typeof values.service !== "string" || !URL.canParse(values.service))
        throw InvalidInputError.field("--service", "give the service's URL, e.g. https://careid.example");
      if (!Number.isInteger(port) || port < 0 || port > 65535)
        throw InvalidInputError.field("--port", "must be a whole number from 0 to 65535");
      const agent = await runAgent({
        ...defaultAgentOptions,
        serviceUrl: values.service,
        modulePath: typeof values.module === "string" ? values.module : defaultAgentOptions.modulePath,
        port,
        blankUnlockCode:
          typeof values["blank-unlock-code"] === "string"
            ? values["blank-unlock-code"]
            : defaultAgentOptions.blankUnlockCode,
        signingOrigins:
          typeof values["signing-origins"] === "string"
            ? values["signing-origins"].split(",").map((origin) => new URL(origin.trim()).origin)
            : [],
      });
      for (const signal of ["SIGINT", "SIGTERM"] as const)
        process.on(signal, () => void agent.stop().then(() => process.exit(0)));
      return new Promise<number>(() => {});
    },
  },
};

function readJsonFileOrRefuse(path: string): unknown {
  try {
    return readJsonFile(path);
  } catch (error) {
    throw InvalidInputError.field("--file", (error as Error).message);
  }
}

async function withCis2(
  config: Config,
  purpose: string,
  work: (context: { store: Store; cis2: Cis2 }) => Promise<number>,
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

function seedActor(): Actor {
  return { ...operatorActor(), source: "SEED" };
}

async function prepare(store: Store): Promise<string[]> {
  const applied = await migrate(store);
  await pinUnkeyedEvents(store.db);
  await syncCodeLists(store.db, systemActor("migrate"));
  return applied;
}

async function withStore(
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

/** The configured database, carrying the audit key derived from the master key. */
async function openConfiguredStore(
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

/** PORT=0 asks for any free port; the issuer must name the real one, so it is chosen first. */
async function withFreePort(config: Config): Promise<Pick<Config, "port" | "issuer">> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, config.host, resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  return { port, issuer: `http://localhost:${port}${realmPath}` };
}

async function serve(config: Config, demo: boolean, sandbox?: { personasFile: string }): Promise<number> {
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

function helpText(): string {
  const lines = ["Usage: careid <command> [options]", "", "Commands:"];
  for (const command of Object.values(commands))
    lines.push(`  ${command.usage.padEnd(60)} ${command.summary}`);
  lines.push(
    "",
    "Run careid <command> --help for a command's options.",
    "",
    "Configuration (environment variables):",
  );
  for (const setting of settings)
    lines.push(`  ${setting.name.padEnd(20)} default ${setting.default}. ${setting.meaning}`);
  return lines.join("\n");
}

function commandHelp(command: Command): string {
  const lines = [`Usage: ${command.usage}`, "", command.summary];
  for (const [name, option] of Object.entries(command.options ?? {}))
    lines.push(`  --${name.padEnd(24)} ${option.help}`);
  return lines.join("\n");
}

export async function runCli(argv: string[]): Promise<number> {
  const [first = "help"] = argv;
  // The longest command named by the leading words: "ldap accounts list" before "ldap".
  const name =
    [3, 2, 1].map((words) => argv.slice(0, words).join(" ")).find((candidate) => commands[candidate]) ??
    first;
  const command = commands[name];
  if (!command || name === "help" || name === "--help") {
    console.log(helpText());
    return command || ["help", "--help", "-h"].includes(first) ? 0 : 2;
  }
  const rest = argv.slice(name.split(" ").length);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: "boolean", short: "h" } },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${commandHelp(command)}`);
    return 2;
  }
  if (values.help) {
    console.log(commandHelp(command));
    return 0;
  }
  try {
    return await command.run(values, loadConfig());
  } catch (error) {
    return reportFailure(error);
  }
}

function reportFailure(error: unknown): number {
  if (error instanceof ConfigError || error instanceof DatabaseBusyError) {
    console.error(error.message);
    return 3;
  }
  if (error instanceof InvalidInputError) {
    console.error(
      `Refused: nothing was changed.\n${error.problems.map((problem) => `  ${problem.field}: ${problem.message}`).join("\n")}`,
    );
    return 2;
  }
  if (error instanceof DomainError) {
    console.error(`Refused: nothing was changed.\n  ${error.message}`);
    return 2;
  }
  console.error(error);
  return 1;
}

if (import.meta.main) process.exitCode = await runCli(process.argv.slice(2));
