import { ConfigError } from "../config.ts";
import { existingMasterKey } from "../secrets/master-key.ts";
import type { Command, WithStore } from "../store-command.ts";
import { verifyAuditLog } from "./verify.ts";

/** The audit log's command: its keyed hash chain checked end to end. */
export function auditCommands(withStore: WithStore): Record<string, Command> {
  return {
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
  };
}
