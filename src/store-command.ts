import type { Config } from "./config.ts";
import { InvalidInputError } from "./errors.ts";
import type { Store } from "./store/database.ts";

/**
 * How a capability adds commands to the command line's table (src/main.ts): each runs on the
 * migrated database, which src/app/command-store.ts opens and closes around it (main.ts passes
 * its withStore and prepare in).
 */
export type OptionValues = Record<string, string | boolean | undefined>;
export type CommandOptions = Record<string, { type: "string" | "boolean"; help: string }>;

/** One entry of the table: its usage line, what it does, and how it runs. */
export type Command = {
  usage: string;
  summary: string;
  options?: CommandOptions;
  run(values: OptionValues, config: Config): Promise<number>;
};

/** Opens the configured database around the work; masterKey, when given, instead of loading one. */
export type WithStore = (
  config: Config,
  purpose: string,
  work: (store: Store) => Promise<number>,
  masterKey?: Buffer,
) => Promise<number>;
export type Prepare = (store: Store) => Promise<unknown>;

export function storeCommand(withStore: WithStore, prepare: Prepare) {
  return (
    name: string,
    usage: string,
    summary: string,
    options: CommandOptions,
    work: (store: Store, values: OptionValues, config: Config) => Promise<number>,
  ) => ({
    usage,
    summary,
    options,
    run: (values: OptionValues, config: Config) =>
      withStore(config, name, async (store) => {
        await prepare(store);
        return work(store, values, config);
      }),
  });
}

export function requiredOption(values: OptionValues, name: string): string {
  const value = values[name];
  if (typeof value !== "string" || value === "") throw InvalidInputError.field(`--${name}`, "is required");
  return value;
}
