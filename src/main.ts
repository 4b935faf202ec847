#!/usr/bin/env node
import { parseArgs } from "node:util";
import { type Actor, operatorActor, systemActor } from "./audit/actor.ts";
import { verifyAuditLog } from "./audit/verify.ts";
import { type Config, ConfigError, loadConfig, settings } from "./config.ts";
import { directoryCommands } from "./directory/cli.ts";
import { DomainError, InvalidInputError } from "./errors.ts";
import { readJsonFile } from "./json-file.ts";
import { readCodeLists, syncCodeLists } from "./rbac/code-lists.ts";
import { seedDemo } from "./seed/demo.ts";
import { addPeople, type PersonEntry } from "./seed/people-loader.ts";
import { seedSynthetic } from "./seed/synthetic.ts";
import { buildServer } from "./server.ts";
import { openStore, type Store } from "./store/database.ts";
import { DatabaseBusyError } from "./store/embedded-lock.ts";
import { migrate } from "./store/migrate.ts";

/** One entry per command: its usage line, what it does, and how it runs. */
type Command = {
  usage: string;
  summary: string;
  options?: Record<string, { type: "string" | "boolean"; help: string }>;
  run(values: Record<string, string | boolean | undefined>, config: Config): Promise<number>;
};

const commands: Record<string, Command> = {
  serve: {
    usage: "careid serve [--demo]",
    summary: "Migrate the database and serve HTTP until stopped (SIGINT or SIGTERM).",
    options: { demo: { type: "boolean", help: "load the demo directory into an empty database first" } },
    run: (values, config) => serve(config, values.demo === true),
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
    summary: "Load the demo directory (fictional organisations and people) into an empty database.",
    run: (_values, config) =>
      withStore(config, "seed demo", async (store) => {
        await prepare(store);
        const loaded = await seedDemo(store.db, seedActor());
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
    summary: "Check the audit log's hash chain; exits 1 and names each break if it was tampered with.",
    run: (_values, config) =>
      withStore(config, "audit verify", async (store) => {
        const report = await verifyAuditLog(store.db);
        for (const problem of report.problems)
          console.error(`event ${problem.seq}: ${problem.kind}: ${problem.message}`);
        console.log(
          report.ok
            ? `The audit log is intact: ${report.checked} events verified.`
            : `The audit log has ${report.problems.length} break(s).`,
        );
        return report.ok ? 0 : 1;
      }),
  },
  ...directoryCommands(withStore, prepare),
  "people add": {
    usage: "careid people add --file person.json",
    summary:
      "Add a person (or a list of people) with positions from JSON; all or nothing, audited as the operator.",
    options: { file: { type: "string", help: "JSON file: one person object or a list of them" } },
    run: (values, config) =>
      withStore(config, "people add", async (store) => {
        if (typeof values.file !== "string") throw InvalidInputError.field("--file", "is required");
        const entries = readPeopleFile(values.file);
        await prepare(store);
        const added = await addPeople(store.db, operatorActor(), await readCodeLists(store.db), entries);
        console.log(JSON.stringify(added, null, 2));
        return 0;
      }),
  },
};

function readPeopleFile(path: string): PersonEntry[] {
  let parsed: unknown;
  try {
    parsed = readJsonFile(path);
  } catch (error) {
    throw InvalidInputError.field("--file", (error as Error).message);
  }
  if (typeof parsed !== "object" || parsed === null)
    throw InvalidInputError.field("--file", "must hold a JSON object or list");
  return Array.isArray(parsed) ? parsed : [parsed as PersonEntry];
}

function seedActor(): Actor {
  return { ...operatorActor(), source: "SEED" };
}

async function prepare(store: Store): Promise<string[]> {
  const applied = await migrate(store);
  await syncCodeLists(store.db, systemActor("migrate"));
  return applied;
}

async function withStore(
  config: Config,
  purpose: string,
  work: (store: Store) => Promise<number>,
): Promise<number> {
  const store = await openConfiguredStore(config, purpose);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

function openConfiguredStore(config: Config, purpose: string): Promise<Store> {
  return config.databaseUrl
    ? openStore({ databaseUrl: config.databaseUrl })
    : openStore({ dataDir: config.dataDir, purpose });
}

async function serve(config: Config, demo: boolean): Promise<number> {
  const store = await openConfiguredStore(config, "serve");
  await prepare(store);
  if (demo && (await seedDemo(store.db, seedActor())))
    console.log("Loaded the demo directory into the new database.");
  const app = await buildServer({ config, store, lists: await readCodeLists(store.db), demo });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    app.log.info({ signal }, "shutting down: finishing requests in flight");
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  const base = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  console.log(
    [
      "",
      `Care Identity Service is running on ${store.kind === "pglite" ? `the embedded database in ${store.location}` : store.location}`,
      `  Home page        ${base}/`,
      `  Job roles (API)  ${base}/api/rbac/job-roles`,
      `  Organisations    ${base}/api/organisations`,
      `  Health           ${base}/health/ready`,
      `  Metrics          ${base}/metrics`,
      "Press Ctrl+C to stop.",
      "",
    ].join("\n"),
  );
  return new Promise<number>(() => {});
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
  const [first = "help", second] = argv;
  const name = commands[`${first} ${second}`] ? `${first} ${second}` : first;
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
