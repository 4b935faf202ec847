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

/** Organisations written a time: each batch is a handful of statements and one progress report. */
const batchSize = 5000;

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
      const batch = writing.slice(from, from + batchSize);
      const held = batch.filter((record) => existing.has(record.odsCode)).map((record) => record.odsCode);
      await writeBatch(tx, batch, held, today);
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
    .where(sql<boolean>`ods_code IN (SELECT unnest(${codes}::text[]))`)
    .execute();
  return new Map(rows.map((row) => [row.ods_code, row]));
}

/**
 * Adds or replaces a batch of organisations with their roles, relationships and successors: one
 * statement a table, each reading the whole batch as one JSON parameter (jsonb_to_recordset), so
 * the work is PostgreSQL's set operations rather than a statement, or a parameter, per row.
 * Only organisations already held have roles, relationships or successors to clear. Every
 * statement joins its codes rather than testing `ods_code = ANY($1)`: a statement run often
 * becomes a generic plan, and a generic plan made while the tables were small scans them whole
 * and searches the array for each row, which made every batch slower than the one before.
 */
async function writeBatch(tx: Tx, records: OdsRecord[], held: string[], today: string): Promise<void> {
  const organisations = records.map((record) => ({
    ods_code: record.odsCode,
    name: record.name,
    type_code: record.primaryRole,
    type_name: roleName(record.primaryRole),
    status: record.active ? "active" : "inactive",
    address_lines: record.address.lines,
    city: record.address.city,
    postcode: record.address.postcode,
    telephone: record.telephone,
    open_date: record.openDate,
    close_date: record.closeDate,
    last_change_date: record.lastChangeDate ?? today,
    record_digest: recordDigest(record),
  }));
  await sql`
    INSERT INTO organisations (ods_code, name, type_code, type_name, status, address_lines, city,
                               postcode, telephone, open_date, close_date, last_change_date,
                               source, record_digest)
    SELECT ods_code, name, type_code, type_name, status, address_lines, city, postcode, telephone,
           open_date, close_date, last_change_date, 'ods', record_digest
      FROM jsonb_to_recordset(${JSON.stringify(organisations)}::jsonb) AS given(
             ods_code text, name text, type_code text, type_name text, status text,
             address_lines text[], city text, postcode text, telephone text, open_date date,
             close_date date, last_change_date date, record_digest text)
    ON CONFLICT (ods_code) DO UPDATE SET
      name = excluded.name, type_code = excluded.type_code, type_name = excluded.type_name,
      status = excluded.status, address_lines = excluded.address_lines, city = excluded.city,
      postcode = excluded.postcode, telephone = excluded.telephone,
      open_date = excluded.open_date, close_date = excluded.close_date,
      last_change_date = excluded.last_change_date, source = excluded.source,
      record_digest = excluded.record_digest, updated_at = now()`.execute(tx);
  if (held.length > 0)
    for (const table of ["organisation_roles", "organisation_relationships", "organisation_successors"])
      await sql`
        DELETE FROM ${sql.table(table)} child USING unnest(${held}::text[]) AS held(ods_code)
         WHERE child.ods_code = held.ods_code`.execute(tx);
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
  if (roles.length > 0)
    await sql`
      INSERT INTO organisation_roles (ods_code, role_code, is_primary, start_date, end_date, active)
      SELECT ods_code, role_code, is_primary, start_date, end_date, active
        FROM jsonb_to_recordset(${JSON.stringify(roles)}::jsonb) AS given(
               ods_code text, role_code text, is_primary boolean, start_date date, end_date date,
               active boolean)`.execute(tx);
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
  if (relationships.length > 0)
    await sql`
      INSERT INTO organisation_relationships (ods_code, relationship_code, target_ods_code,
                                              target_role_code, start_date, end_date, active)
      SELECT ods_code, relationship_code, target_ods_code, target_role_code, start_date, end_date, active
        FROM jsonb_to_recordset(${JSON.stringify(relationships)}::jsonb) AS given(
               ods_code text, relationship_code text, target_ods_code text, target_role_code text,
               start_date date, end_date date, active boolean)`.execute(tx);
  const successors = records.flatMap((record) =>
    uniqueBy(record.successors, (succ) => `${succ.kind} ${succ.target}`).map((succ) => ({
      ods_code: record.odsCode,
      kind: succ.kind,
      target_ods_code: succ.target,
      start_date: succ.startDate,
    })),
  );
  if (successors.length > 0)
    await sql`
      INSERT INTO organisation_successors (ods_code, kind, target_ods_code, start_date)
      SELECT ods_code, kind, target_ods_code, start_date
        FROM jsonb_to_recordset(${JSON.stringify(successors)}::jsonb) AS given(
               ods_code text, kind text, target_ods_code text, start_date date)`.execute(tx);
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
 * them all, so a file of commissioners loaded after their practices still places the practices:
 * one pass over the relationships (DISTINCT ON picks each organisation's first), not a lookup per
 * organisation.
 */
async function placeInHierarchy(tx: Tx): Promise<void> {
  const hierarchy = odsCodes.hierarchy;
  await sql`
    UPDATE organisations o SET parent_ods_code = placed.parent, updated_at = now()
      FROM (
        SELECT c.ods_code, first.parent
          FROM organisations c
          LEFT JOIN (
            SELECT DISTINCT ON (r.ods_code) r.ods_code, r.target_ods_code AS parent
              FROM organisation_relationships r
              JOIN organisations t ON t.ods_code = r.target_ods_code
             WHERE r.active AND r.relationship_code = ANY(${hierarchy}::text[])
             ORDER BY r.ods_code, array_position(${hierarchy}::text[], r.relationship_code), r.target_ods_code
          ) first ON first.ods_code = c.ods_code
         WHERE c.source = 'ods'
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
