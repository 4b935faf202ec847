#!/usr/bin/env node
import { parseArgs } from "node:util";
import { agentCommands } from "./agent/commands.ts";
import { prepare, withCis2, withStore } from "./app/command-store.ts";
import { serviceCommands } from "./app/commands.ts";
import { startCis2 } from "./app/start-cis2.ts";
import { applyCommands } from "./apply/commands.ts";
import { auditCommands } from "./audit/commands.ts";
import { authenticatorCommands } from "./authenticators/commands.ts";
import { federationCommands } from "./authenticators/federation/cli.ts";
import { cardCommands } from "./authenticators/smartcard/cli.ts";
import { cis2Commands } from "./cis2/commands.ts";
import { ConfigError, loadConfig, settings } from "./config.ts";
import { directoryCommands } from "./directory/cli.ts";
import { ldapCommands } from "./directory/ldap/commands.ts";
import { DomainError, InvalidInputError } from "./errors.ts";
import { organisationCommands } from "./rbac/ods/cli.ts";
import { registrationCommands } from "./registration/commands.ts";
import { peopleCommands, seedCommands } from "./seed/commands.ts";
import { signingCommands } from "./signing/cli.ts";
import { DatabaseBusyError } from "./store/embedded-lock.ts";
import type { Command } from "./store-command.ts";

/**
 * The command line: each capability's commands, in the order `careid --help` lists them, and the
 * dispatch to the one the arguments name. The commands themselves live in their folders.
 */
export const commands: Record<string, Command> = {
  ...serviceCommands(),
  ...seedCommands(withStore, prepare, startCis2),
  ...auditCommands(withStore),
  ...ldapCommands(withStore, prepare),
  ...directoryCommands(withStore, prepare),
  ...cardCommands(withStore, prepare),
  ...organisationCommands(withStore, prepare),
  ...federationCommands(withStore, prepare),
  ...signingCommands(withStore, prepare),
  ...peopleCommands(withStore, prepare),
  ...registrationCommands(withStore, prepare),
  ...cis2Commands(withStore, prepare, withCis2),
  ...authenticatorCommands(withStore, prepare),
  ...applyCommands(withStore, prepare),
  ...agentCommands(),
};

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
