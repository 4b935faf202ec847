import { readFile } from "node:fs/promises";
import type { Config } from "../config.ts";
import { type OptionValues, type Prepare, requiredOption, type WithStore } from "../store-command.ts";
import { serviceTrust } from "./trust.ts";
import { verifyPrescription } from "./verifier.ts";

/** `careid signing verify --file prescription.xml`: the nine checks, one line each; exit 1 if any fails. */
export function signingCommands(withStore: WithStore, prepare: Prepare) {
  return {
    "signing verify": {
      usage: "careid signing verify --file prescription.xml",
      summary:
        "Verify a signed prescription's XML signature: the nine checks, each named; exits 1 if any fails.",
      options: { file: { type: "string" as const, help: "the signed ParentPrescription XML" } },
      run: (values: OptionValues, config: Config) =>
        withStore(config, "signing verify", async (store) => {
          const file = requiredOption(values, "file");
          const xml = await readFile(file, "utf8");
          await prepare(store);
          const verdict = await verifyPrescription(
            xml,
            await serviceTrust(store.db, config.signingAllowRsaSha1),
          );
          for (const check of verdict.checks)
            console.log(`${check.passed ? "pass" : "FAIL"}  ${check.check.padEnd(28)} ${check.message}`);
          console.log(
            verdict.valid ? `Valid: signed by ${verdict.signer}.` : "Invalid: the signature is refused.",
          );
          return verdict.valid ? 0 : 1;
        }),
    },
  };
}
