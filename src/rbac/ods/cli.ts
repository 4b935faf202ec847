import { readFileSync } from "node:fs";
import { operatorActor } from "../../audit/actor.ts";
import { InvalidInputError } from "../../errors.ts";
import { type Prepare, requiredOption, storeCommand, type WithStore } from "../../store-command.ts";
import { readCodeLists } from "../code-lists.ts";
import { importOrganisations } from "./import.ts";

/** Loads shorter than this print no progress lines. */
const progressFrom = 10_000;

/** The organisations' commands for the command line's table: loading ODS files. */
export function organisationCommands(withStore: WithStore, prepare: Prepare) {
  const command = storeCommand(withStore, prepare);
  return {
    "organisations import": command(
      "organisations import",
      "careid organisations import --file F [--format etr|ets|epraccur|ord] [--today YYYY-MM-DD]",
      "Load an Organisation Data Service file (CSV extract etr.csv, ets.csv, epraccur.csv, or ORD JSON): every row checked, all or nothing; reports organisations added, changed, closed and unchanged.",
      {
        file: { type: "string", help: "the ODS file" },
        format: { type: "string", help: "etr, ets, epraccur or ord, when the file name does not say" },
        today: { type: "string", help: "judge close dates as on this date (default today)" },
      },
      async (store, values) => {
        const path = requiredOption(values, "file");
        let text: string;
        try {
          text = readFileSync(path, "utf8");
        } catch (error) {
          throw InvalidInputError.field("--file", (error as Error).message);
        }
        const today = typeof values.today === "string" ? values.today : undefined;
        if (today !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(today))
          throw InvalidInputError.field("--today", "must be a date YYYY-MM-DD");
        const report = await importOrganisations(
          store.db,
          operatorActor(),
          await readCodeLists(store.db),
          { name: path, text },
          {
            format: typeof values.format === "string" ? values.format : undefined,
            today,
            progress: (done, total) => {
              if (total >= progressFrom) console.error(`Loading organisations: ${done} of ${total}`);
            },
          },
        );
        console.log(
          `${report.file} (${report.format}): ${report.organisations} organisations: ${report.added} added, ${report.changed} changed, ${report.closed} closed, ${report.unchanged} unchanged; ${report.positionsEnded.length} position(s) ended; ${report.seconds.toFixed(1)} s.`,
        );
        return 0;
      },
    ),
  };
}
