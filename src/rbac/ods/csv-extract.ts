import { parse } from "csv-parse/sync";
import { closedBy, type OdsRecord, type OdsRelationship, type RowProblem } from "./ods-record.ts";
import { RowChecks } from "./row-checks.ts";

/**
 * The ODS CSV extracts this service reads: headerless files in ODS's standard column order.
 * Each gives its organisations one primary role, and the parent column (when the extract has
 * one) a relationship of one type: a trust site is operated by its trust, a GP practice is
 * commissioned by its commissioner.
 */
export type CsvExtract = {
  name: "etr" | "ets" | "epraccur";
  title: string;
  primaryRole: string;
  parentRelationship?: { code: string; targetRole: string };
  /** epraccur alone carries a status code (A active, C closed, D dormant, P proposed). */
  hasStatus: boolean;
};

export const csvExtracts: Record<CsvExtract["name"], CsvExtract> = {
  etr: { name: "etr", title: "NHS trusts", primaryRole: "RO197", hasStatus: false },
  ets: {
    name: "ets",
    title: "NHS trust sites",
    primaryRole: "RO198",
    parentRelationship: { code: "RE6", targetRole: "RO197" },
    hasStatus: false,
  },
  epraccur: {
    name: "epraccur",
    title: "GP practices",
    primaryRole: "RO177",
    parentRelationship: { code: "RE4", targetRole: "RO98" },
    hasStatus: true,
  },
};

/** The extract a file name names (etr.csv, epraccur.csv, ets.csv, or a dated copy of one). */
export function extractNamed(fileName: string): CsvExtract | undefined {
  const base = fileName.split(/[\\/]/).pop()?.toLowerCase() ?? "";
  return Object.values(csvExtracts).find((extract) => new RegExp(`^${extract.name}\\b`).test(base));
}

/** Zero-based columns of the standard ODS extract layout. */
const column = {
  code: 0,
  name: 1,
  addressLines: [4, 5, 6],
  town: 7,
  postcode: 9,
  openDate: 10,
  closeDate: 11,
  status: 12,
  parent: 14,
  joinParentDate: 15,
  leftParentDate: 16,
  telephone: 17,
  prescribingSetting: 25,
} as const;

/** A GP practice's prescribing setting (epraccur column 26) when it is a GP practice. */
const gpPracticeSetting = "4";

/**
 * Reads an ODS CSV extract into records, checking every row; answers the records, or every
 * problem found, by row.
 */
export function readCsvExtract(
  extract: CsvExtract,
  text: string,
  today: string,
): { records: OdsRecord[]; problems: RowProblem[] } {
  const checks = new RowChecks();
  let rows: string[][];
  try {
    rows = parse(text, { relax_column_count: true, skip_empty_lines: true, bom: true, trim: true });
  } catch (error) {
    const line = (error as { lines?: number }).lines ?? 0;
    return {
      records: [],
      problems: [{ row: line, field: "file", message: `is not valid CSV: ${(error as Error).message}` }],
    };
  }
  const records: OdsRecord[] = [];
  for (const [index, cells] of rows.entries()) {
    checks.row = index + 1;
    const before = checks.problems.length;
    if (cells.length < column.closeDate + 1) {
      checks.add("columns", `has ${cells.length} columns; an ODS extract row has at least 12`);
      continue;
    }
    const record = recordFrom(extract, cells, checks, today);
    if (checks.problems.length === before) records.push(record);
  }
  return { records, problems: checks.problems };
}

function recordFrom(extract: CsvExtract, cells: string[], checks: RowChecks, today: string): OdsRecord {
  const cell = (at: number) => cells[at]?.trim() ?? "";
  const odsCode = checks.odsCode("Organisation Code", cell(column.code)) ?? "";
  const name = checks.name("Name", cell(column.name));
  const openDate = checks.date("Open Date", cell(column.openDate));
  const closeDate = checks.date("Close Date", cell(column.closeDate));
  checks.period("Open Date", openDate, "Close Date", closeDate);
  let active = !closedBy(closeDate, today);
  if (extract.hasStatus) {
    const status = cell(column.status);
    if (!["A", "C", "D", "P"].includes(status)) checks.add("Status Code", `"${status}" is not A, C, D or P`);
    if (status === "C" && !closeDate) checks.add("Close Date", "is required when the status is C (closed)");
    if (status === "C" || status === "D") active = false;
  }
  const relationships: OdsRelationship[] = [];
  if (extract.parentRelationship) {
    const parent = checks.odsCode("Parent Organisation Code", cell(column.parent), false);
    const joined = checks.date("Join Parent Date", cell(column.joinParentDate));
    const left = checks.date("Left Parent Date", cell(column.leftParentDate));
    checks.period("Join Parent Date", joined, "Left Parent Date", left);
    if (parent && parent === odsCode)
      checks.add("Parent Organisation Code", "must not be the organisation itself");
    if (parent)
      relationships.push({
        code: extract.parentRelationship.code,
        target: parent,
        targetRole: extract.parentRelationship.targetRole,
        startDate: joined,
        endDate: left,
        active: !closedBy(left, today),
      });
  }
  const roles = [
    { code: extract.primaryRole, primary: true, startDate: openDate, endDate: closeDate, active },
  ];
  if (extract.name === "epraccur" && cell(column.prescribingSetting) === gpPracticeSetting)
    roles.push({ code: "RO76", primary: false, startDate: openDate, endDate: closeDate, active });
  return {
    odsCode,
    name,
    primaryRole: extract.primaryRole,
    roles,
    relationships,
    successors: [],
    address: {
      lines: column.addressLines.map(cell).filter((line) => line !== ""),
      city: cell(column.town) || null,
      postcode: cell(column.postcode).toUpperCase() || null,
    },
    telephone: cell(column.telephone) || null,
    openDate,
    closeDate,
    active,
    lastChangeDate: null,
  };
}
