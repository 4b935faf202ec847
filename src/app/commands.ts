import { resolve } from "node:path";
import { loadConfig } from "../config.ts";
import { defaultPersonasFile, sandboxEnvironment } from "../sandbox/sandbox-mode.ts";
import type { Command } from "../store-command.ts";
import { prepare, withStore } from "./command-store.ts";
import { serve } from "./serve.ts";

/** The service's own commands: serving it (for real or as a sandbox) and readying its database. */
export function serviceCommands(): Record<string, Command> {
  return {
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
  };
}
