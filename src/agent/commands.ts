import { InvalidInputError } from "../errors.ts";
import type { Command } from "../store-command.ts";
import { defaultAgentOptions, runAgent } from "./run.ts";

/** The workstation agent's command: it runs on a workstation, with no database of its own. */
export function agentCommands(): Record<string, Command> {
  return {
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
        module: {
          type: "string",
          help: `PKCS#11 module (default ${defaultAgentOptions.modulePath}, OpenSC)`,
        },
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
}
