import { createHash } from "node:crypto";
import { sql } from "kysely";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { InvalidInputError } from "../../errors.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import type { CodeLists } from "../code-lists.ts";
import { endPosition } from "../positions.ts";
import { type CsvExtract, csvExtracts, extractNamed, readCsvExtract } from "./csv-extract.ts";
import { odsCodes, roleName } from "./ods-codes.ts";
import { type OdsRecord, type RowProblem, recordDigest } from "./ods-record.ts";
import { readOrdJson } from "./ord-json.ts";

export type OdsFormat = CsvExtract["name"] | "ord";

/** What a load did: how many organisations it added, changed, closed and left as they were. */
export type ImportReport = {
  file: string;
  format: OdsFormat;
  organisations: number;
  added: number;
  changed: number;
  closed: number;
  unchanged: number;
  /** Positions ended because their organisation closed. */
  positionsEnded: string[];
  seconds: number;
};

export type ImportOptions = {
  /** The format, when the file name does not say it (etr, ets, epraccur, ord). */
  format?: string;
  /** Today's date, against which close dates in the file are judged (tests pin it). */
  today?: string;
  /** Told how far a long load has gone. */
  progress?: (done: number, total: number) => void;
};

/** Rows per INSERT: well under PostgreSQL's 65,535 parameters at 15 columns a row. */
const batchSize = 1000;

/** Thrown when a file has faults: every one of them, by row; nothing was loaded. */
export class OdsFileError extends InvalidInputError {
  readonly rows: RowProblem[];
  constructor(file: string, rows: RowProblem[]) {
    super(
      rows.map((problem) => ({
        field: problem.row > 0 ? `row ${problem.row}: ${problem.field}` : problem.field,
        message: problem.message,
      })),
    );
    this.rows = rows;
    this.message = `${file}: ${rows.length} problem(s); nothing was loaded`;
  }
}

/**
 * Loads one ODS file (a CSV extract or ORD JSON) into the organisations: every row is checked
 * first and any fault refuses the whole file; then, in one transaction, new organisations are
 * added, changed ones updated, those the file closes are closed (their positions ending on the
 * close date, each through endPosition with its audit event), the hierarchy is worked out again
 * from the relationships, and one audit event records the load.
 */
export async function importOrganisations(
  queryable: Queryable,
  actor: Actor,
  lists: CodeLists,
  file: { name: string; text: string },
  options: ImportOptions = {},
): Promise<ImportReport> {
  const started = performance.now();
  const today = options.today ?? new Date().toISOString().slice(0, 10);
  const format = formatOf(file, options.format);
  const { records, problems } =
    format === "ord" ? readOrdJson(file.text, today) : readCsvExtract(csvExtracts[format], file.text, today);
  problems.push(...duplicatesIn(records));
  if (problems.length > 0) throw new OdsFileError(file.name, problems);
  if (records.length === 0)
    throw new OdsFileError(file.name, [{ row: 0, field: "file", message: "holds no organisations" }]);

  return inTransaction(queryable, async (tx) => {
    const existing = await existingRecords(
      tx,
      records.map((record) => record.odsCode),
    );
    const added: OdsRecord[] = [];
    const changed: OdsRecord[] = [];
    const closing: OdsRecord[] = [];
    let unchanged = 0;
    for (const record of records) {
      const before = existing.get(record.odsCode);
      if (!before) added.push(record);
      else if (before.record_digest === recordDigest(record) && before.source === "ods") unchanged++;
      else if (before.status === "active" && !record.active) closing.push(record);
      else changed.push(record);
    }
    const writing = [...added, ...changed, ...closing];
    for (let from = 0; from < writing.length; from += batchSize) {
      await writeBatch(tx, writing.slice(from, from + batchSize), today);
      options.progress?.(Math.min(from + batchSize, writing.length), writing.length);
    }
    await placeInHierarchy(tx);
    const positionsEnded: string[] = [];
    for (const record of closing)
      positionsEnded.push(...(await closeOrganisation(tx, actor, lists, record, today)));
    const report: ImportReport = {
      file: file.name,
      format,
      organisations: records.length,
      added: added.length,
      changed: changed.length,
      closed: closing.length,
      unchanged,
      positionsEnded,
      seconds: (performance.now() - started) / 1000,
    };
    await recordEvent(tx, actor, {
      action: "organisations.imported",
      subject: { type: "ods-file", id: file.name },
      after: {
        format,
        sha256: createHash("sha256").update(file.text).digest("hex"),
        added: report.added,
        changed: changed.map((record) => record.odsCode),
        closed: closing.map((record) => record.odsCode),
        unchanged,
      },
    });
    return report;
  });
}

function formatOf(file: { name: string; text: string }, given: string | undefined): OdsFormat {
  if (given !== undefined) {
    if (given === "ord" || given in csvExtracts) return given as OdsFormat;
    throw InvalidInputError.field(
      "format",
      `must be one of ${[...Object.keys(csvExtracts), "ord"].join(", ")}`,
    );
  }
  if (
    /\.json$/i.test(file.name) ||
    file.text.trimStart().startsWith("{") ||
    file.text.trimStart().startsWith("[")
  )
    return "ord";
  const extract = extractNamed(file.name);
  if (!extract)
    throw InvalidInputError.field(
      "format",
      `cannot tell the format from the name ${file.name}: name it etr.csv, ets.csv or epraccur.csv, or give the format`,
    );
  return extract.name;
}

function duplicatesIn(records: OdsRecord[]): RowProblem[] {
  const seen = new Map<string, number>();
  const problems: RowProblem[] = [];
  for (const [index, record] of records.entries()) {
    const first = seen.get(record.odsCode);
    if (first !== undefined)
      problems.push({
        row: index + 1,
        field: "Organisation Code",
        message: `${record.odsCode} is listed twice (first at organisation ${first})`,
      });
    else seen.set(record.odsCode, index + 1);
  }
  return problems;
}

async function existingRecords(tx: Tx, codes: string[]) {
  const rows = await tx
    .selectFrom("organisations")
    .select(["ods_code", "record_digest", "status", "source"])
    .where(sql<boolean>`ods_code = ANY(${codes}::text[])`)
    .execute();
  return new Map(rows.map((row) => [row.ods_code, row]));
}

/** Adds or replaces a batch of organisations with their roles, relationships and successors. */
async function writeBatch(tx: Tx, records: OdsRecord[], today: string): Promise<void> {
  const codes = records.map((record) => record.odsCode);
  await tx
    .insertInto("organisations")
    .values(
      records.map((record) => ({
        ods_code: record.odsCode,
        name: record.name,
        type_code: record.primaryRole,
        type_name: roleName(record.primaryRole),
        status: record.active ? ("active" as const) : ("inactive" as const),
        address_lines: record.address.lines,
        city: record.address.city,
        postcode: record.address.postcode,
        telephone: record.telephone,
        open_date: record.openDate,
        close_date: record.closeDate,
        last_change_date: record.lastChangeDate ?? today,
        source: "ods" as const,
        record_digest: recordDigest(record),
      })),
    )
    .onConflict((conflict) =>
      conflict.column("ods_code").doUpdateSet((eb) => ({
        name: eb.ref("excluded.name"),
        type_code: eb.ref("excluded.type_code"),
        type_name: eb.ref("excluded.type_name"),
        status: eb.ref("excluded.status"),
        address_lines: eb.ref("excluded.address_lines"),
        city: eb.ref("excluded.city"),
        postcode: eb.ref("excluded.postcode"),
        telephone: eb.ref("excluded.telephone"),
        open_date: eb.ref("excluded.open_date"),
        close_date: eb.ref("excluded.close_date"),
        last_change_date: eb.ref("excluded.last_change_date"),
        source: eb.ref("excluded.source"),
        record_digest: eb.ref("excluded.record_digest"),
        updated_at: sql`now()`,
      })),
    )
    .execute();
  const mine = sql<boolean>`ods_code = ANY(${codes}::text[])`;
  await tx.deleteFrom("organisation_roles").where(mine).execute();
  await tx.deleteFrom("organisation_relationships").where(mine).execute();
  await tx.deleteFrom("organisation_successors").where(mine).execute();
  const roles = records.flatMap((record) =>
    uniqueBy(record.roles, (role) => role.code).map((role) => ({
      ods_code: record.odsCode,
      role_code: role.code,
      is_primary: role.primary,
      start_date: role.startDate,
      end_date: role.endDate,
      active: role.active,
    })),
  );
  if (roles.length > 0) await tx.insertInto("organisation_roles").values(roles).execute();
  const relationships = records.flatMap((record) =>
    record.relationships.map((rel) => ({
      ods_code: record.odsCode,
      relationship_code: rel.code,
      target_ods_code: rel.target,
      target_role_code: rel.targetRole,
      start_date: rel.startDate,
      end_date: rel.endDate,
      active: rel.active,
    })),
  );
  for (let from = 0; from < relationships.length; from += batchSize)
    await tx
      .insertInto("organisation_relationships")
      .values(relationships.slice(from, from + batchSize))
      .execute();
  const successors = records.flatMap((record) =>
    uniqueBy(record.successors, (succ) => `${succ.kind} ${succ.target}`).map((succ) => ({
      ods_code: record.odsCode,
      kind: succ.kind,
      target_ods_code: succ.target,
      start_date: succ.startDate,
    })),
  );
  if (successors.length > 0) await tx.insertInto("organisation_successors").values(successors).execute();
}

/** ORD may list a role twice (one per period): the active one, else the first, is kept. */
function uniqueBy<T extends object>(items: T[], key: (item: T) => string): T[] {
  const kept = new Map<string, T>();
  for (const item of items) {
    const held = kept.get(key(item));
    const active = (entry: T) => "active" in entry && entry.active === true;
    if (!held || (active(item) && !active(held))) kept.set(key(item), item);
  }
  return [...kept.values()];
}

/**
 * Works out every ODS organisation's parent from its active hierarchy relationships (the first
 * type in ods-codes.json's `hierarchy` that it has, to an organisation that is loaded). Run over
 * them all, so a file of commissioners loaded after their practices still places the practices.
 */
async function placeInHierarchy(tx: Tx): Promise<void> {
  const hierarchy = odsCodes.hierarchy;
  await sql`
    UPDATE organisations o SET parent_ods_code = placed.parent, updated_at = now()
      FROM (
        SELECT c.ods_code, (
          SELECT r.target_ods_code FROM organisation_relationships r
            JOIN organisations t ON t.ods_code = r.target_ods_code
           WHERE r.ods_code = c.ods_code AND r.active AND r.relationship_code = ANY(${hierarchy}::text[])
           ORDER BY array_position(${hierarchy}::text[], r.relationship_code), r.target_ods_code
           LIMIT 1) AS parent
          FROM organisations c WHERE c.source = 'ods'
      ) placed
     WHERE o.ods_code = placed.ods_code AND o.parent_ods_code IS DISTINCT FROM placed.parent`.execute(tx);
}

/**
 * Records an organisation's closure and ends the positions there that would outlast it, on its
 * close date (or on a position's start, for one that starts later), each through endPosition.
 */
async function closeOrganisation(
  tx: Tx,
  actor: Actor,
  lists: CodeLists,
  record: OdsRecord,
  today: string,
): Promise<string[]> {
  const closeDate = record.closeDate ?? today;
  await recordEvent(tx, actor, {
    action: "organisation.closed",
    subject: { type: "organisation", id: record.odsCode },
    before: { status: "active" },
    after: { status: "inactive", closeDate },
    reason: "Closed in the Organisation Data Service",
  });
  const open = await tx
    .selectFrom("positions")
    .select(["role_profile_id", "start_date"])
    .where("ods_code", "=", record.odsCode)
    .where("status", "=", "active")
    .where((eb) => eb.or([eb("end_date", "is", null), eb("end_date", ">", closeDate)]))
    .orderBy("role_profile_id")
    .execute();
  for (const position of open)
    await endPosition(tx, actor, lists, position.role_profile_id, {
      endDate: position.start_date > closeDate ? position.start_date : closeDate,
      reason: `${record.odsCode} closed on ${closeDate} (Organisation Data Service)`,
    });
  return open.map((position) => position.role_profile_id);
}
