/**
 * Loads generated ODS extracts of national size into an empty PostgreSQL database through the
 * importer `careid organisations import` uses, and reports organisations imported per second:
 * trusts (etr.csv), then their sites (ets.csv), then GP practices (epraccur.csv), then the same
 * practices again unchanged (a re-import), then the practices again with every name changed.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:ods-import -- [--organisations 100000]
 *
 * Creates (and first drops) the database careid_bench_ods beside the admin database. The files
 * are written to a temporary directory and kept there, for `careid organisations import` by hand.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pg from "pg";
import { operatorActor, systemActor } from "../src/audit/actor.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { loadConfig } from "../src/config.ts";
import { readCodeLists, syncCodeLists } from "../src/rbac/code-lists.ts";
import { importOrganisations } from "../src/rbac/ods/import.ts";
import { loadMasterKey } from "../src/secrets/master-key.ts";
import { openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { benchAdminUrl } from "./cis2-support.ts";

const { values } = parseArgs({ options: { organisations: { type: "string", default: "100000" } } });
const total = Number(values.organisations);
if (!Number.isInteger(total) || total < 100)
  throw new Error("--organisations must be a whole number of at least 100");
const adminUrl = benchAdminUrl();

/** One row in ODS's 27-column extract layout. */
function row(cells: Record<number, string>): string {
  const line = Array.from({ length: 27 }, (_, index) => cells[index] ?? "");
  return `${line.map((cell) => `"${cell}"`).join(",")}\r\n`;
}

// About the national shape: 2% trusts, 38% sites, 60% practices under 100 commissioners.
const trusts = Math.max(1, Math.round(total * 0.02));
const sites = Math.round(total * 0.38);
const practices = total - trusts - sites;
const directory = mkdtempSync(join(tmpdir(), "ods-bench-"));
const address = (n: number) => ({
  4: `${n} HIGH STREET`,
  5: "NORTH QUARTER",
  7: "BENCHTOWN",
  8: "BENCHSHIRE",
  9: `BT${n % 90} ${n % 9}AB`,
});
/** The GP practices, each under one of 100 commissioners; `suffix` changes every name. */
const practiceRows = (suffix: string) =>
  Array.from({ length: practices }, (_, n) =>
    row({
      0: `P${n.toString(36).toUpperCase().padStart(6, "0")}`,
      1: `BENCH SURGERY ${n}${suffix}`,
      ...address(n),
      10: "19800101",
      12: "A",
      13: "B",
      14: `C${(n % 100).toString().padStart(2, "0")}`,
      15: "20130401",
      25: "4",
    }),
  ).join("");
const files = {
  etr: Array.from({ length: trusts }, (_, n) =>
    row({
      0: `R${n.toString(36).toUpperCase().padStart(4, "0")}`,
      1: `BENCH TRUST ${n}`,
      ...address(n),
      10: "19940401",
    }),
  ).join(""),
  ets: Array.from({ length: sites }, (_, n) => {
    const trust = `R${(n % trusts).toString(36).toUpperCase().padStart(4, "0")}`;
    return row({
      0: `S${n.toString(36).toUpperCase().padStart(6, "0")}`,
      1: `BENCH SITE ${n}`,
      ...address(n),
      10: "19990401",
      14: trust,
      15: "19990401",
    });
  }).join(""),
  epraccur: practiceRows(""),
  "epraccur-renamed": practiceRows(" RENAMED"),
};
for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, `${name}.csv`), text);

const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query("DROP DATABASE IF EXISTS careid_bench_ods WITH (FORCE)");
await admin.query("CREATE DATABASE careid_bench_ods");
await admin.end();
const target = new URL(adminUrl);
target.pathname = "/careid_bench_ods";
const store = withAuditKey(
  await openStore({ databaseUrl: target.toString(), poolSize: 2 }),
  loadMasterKey(loadConfig()),
);
await migrate(store);
await syncCodeLists(store.db, systemActor("bench"));
const lists = await readCodeLists(store.db);

let loaded = 0;
let seconds = 0;
for (const name of ["etr", "ets", "epraccur", "epraccur", "epraccur-renamed"]) {
  const path = join(directory, `${name}.csv`);
  const report = await importOrganisations(store.db, operatorActor(), lists, {
    name: path,
    text: readFileSync(path, "utf8"),
  });
  console.log(
    `${name}.csv: ${report.organisations} organisations (${report.added} added, ${report.changed} changed, ${report.unchanged} unchanged) in ${report.seconds.toFixed(2)} s: ${Math.round(report.organisations / report.seconds)} organisations/s`,
  );
  if (report.added > 0) {
    loaded += report.organisations;
    seconds += report.seconds;
  }
}
console.log(
  `ods import: ${loaded} organisations in ${seconds.toFixed(1)} s: ${Math.round(loaded / seconds)} organisations/s (files in ${directory})`,
);
await store.close();
