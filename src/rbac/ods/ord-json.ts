import { relationshipCodePattern, roleCodePattern } from "./ods-codes.ts";
import {
  closedBy,
  type OdsRecord,
  type OdsRelationship,
  type OdsRole,
  type OdsSuccessor,
  type RowProblem,
} from "./ods-record.ts";
import { RowChecks } from "./row-checks.ts";

/**
 * ODS's ORD JSON (the Organisation Reference Data API's organisation document): one
 * `{"Organisation": {...}}`, a list of them, or `{"Organisations": [...]}`. Each organisation is
 * one row for error reports, numbered from 1 in file order.
 */
export function readOrdJson(text: string, today: string): { records: OdsRecord[]; problems: RowProblem[] } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    return {
      records: [],
      problems: [{ row: 0, field: "file", message: `is not JSON: ${(error as Error).message}` }],
    };
  }
  const entries = organisationsIn(document);
  if (!entries)
    return {
      records: [],
      problems: [
        {
          row: 0,
          field: "file",
          message:
            'holds no ORD organisations: expected {"Organisation": ...}, a list, or {"Organisations": [...]}',
        },
      ],
    };
  const checks = new RowChecks();
  const records: OdsRecord[] = [];
  for (const [index, entry] of entries.entries()) {
    checks.row = index + 1;
    const before = checks.problems.length;
    const organisation = (entry as { Organisation?: unknown })?.Organisation ?? entry;
    if (!isObject(organisation)) {
      checks.add("Organisation", "must be an object");
      continue;
    }
    const record = recordFrom(organisation, checks, today);
    if (checks.problems.length === before) records.push(record);
  }
  return { records, problems: checks.problems };
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function organisationsIn(document: unknown): unknown[] | undefined {
  if (Array.isArray(document)) return document;
  if (!isObject(document)) return undefined;
  if (Array.isArray(document.Organisations)) return document.Organisations;
  if (document.Organisation !== undefined) return [document];
  return undefined;
}

/** ORD wraps lists in an object (`Roles.Role`, `Rels.Rel`, `Succs.Succ`); either shape is read. */
function listIn(value: unknown, key: string): unknown[] {
  const inner = isObject(value) ? value[key] : value;
  if (inner === undefined || inner === null) return [];
  return Array.isArray(inner) ? inner : [inner];
}

/** ORD's dates: a list of {Type: Legal | Operational, Start, End}; Operational wins. */
function datesOf(value: unknown, checks: RowChecks, field: string) {
  const dates = listIn(value, "Date").filter(isObject);
  const chosen =
    dates.find((date) => date.Type === "Operational") ??
    dates.find((date) => date.Type === "Legal") ??
    dates[0];
  const start = checks.date(`${field}.Start`, chosen?.Start);
  const end = checks.date(`${field}.End`, chosen?.End);
  checks.period(`${field}.Start`, start, `${field}.End`, end);
  return { start, end };
}

function targetOf(value: unknown, checks: RowChecks, field: string) {
  const target = isObject(value) ? value : {};
  const orgId = isObject(target.OrgId) ? target.OrgId : {};
  const code = checks.odsCode(`${field}.Target.OrgId.extension`, orgId.extension);
  const role = isObject(target.PrimaryRoleId) ? target.PrimaryRoleId.id : undefined;
  return { code, role: typeof role === "string" && roleCodePattern.test(role) ? role : null };
}

function recordFrom(organisation: Json, checks: RowChecks, today: string): OdsRecord {
  const orgId = isObject(organisation.OrgId) ? organisation.OrgId : {};
  const odsCode = checks.odsCode("OrgId.extension", orgId.extension) ?? "";
  const name = checks.name("Name", organisation.Name);
  const { start: openDate, end: closeDate } = datesOf(organisation.Date, checks, "Date");
  const status = organisation.Status;
  if (status !== "Active" && status !== "Inactive")
    checks.add("Status", `"${status}" is not Active or Inactive`);
  const active = status === "Active" && !closedBy(closeDate, today);
  const lastChangeDate = checks.date("LastChangeDate", organisation.LastChangeDate);

  const roles: OdsRole[] = listIn(organisation.Roles, "Role").map((role, index) => {
    const field = `Roles.Role[${index}]`;
    const entry = isObject(role) ? role : {};
    const code = typeof entry.id === "string" ? entry.id : "";
    if (!roleCodePattern.test(code))
      checks.add(`${field}.id`, `"${code}" is not an ODS role code such as RO197`);
    const { start, end } = datesOf(entry.Date, checks, `${field}.Date`);
    return {
      code,
      primary: entry.primaryRole === true || entry.primaryRole === "true",
      startDate: start,
      endDate: end,
      active: entry.Status === "Active" && !closedBy(end, today),
    };
  });
  const primary = roles.filter((role) => role.primary);
  if (primary.length !== 1) checks.add("Roles", `must have exactly one primary role, not ${primary.length}`);

  const relationships: OdsRelationship[] = listIn(organisation.Rels, "Rel").map((rel, index) => {
    const field = `Rels.Rel[${index}]`;
    const entry = isObject(rel) ? rel : {};
    const code = typeof entry.id === "string" ? entry.id : "";
    if (!relationshipCodePattern.test(code))
      checks.add(`${field}.id`, `"${code}" is not an ODS relationship code such as RE6`);
    const { start, end } = datesOf(entry.Date, checks, `${field}.Date`);
    const target = targetOf(entry.Target, checks, field);
    if (target.code === odsCode) checks.add(`${field}.Target`, "must not be the organisation itself");
    return {
      code,
      target: target.code ?? "",
      targetRole: target.role,
      startDate: start,
      endDate: end,
      active: entry.Status === "Active" && !closedBy(end, today),
    };
  });
  const duplicate = relationships.find(
    (rel, index) =>
      relationships.findIndex((other) => other.code === rel.code && other.target === rel.target) !== index,
  );
  if (duplicate) checks.add("Rels", `lists ${duplicate.code} to ${duplicate.target} twice`);

  const successors: OdsSuccessor[] = listIn(organisation.Succs, "Succ").map((succ, index) => {
    const field = `Succs.Succ[${index}]`;
    const entry = isObject(succ) ? succ : {};
    if (entry.Type !== "Successor" && entry.Type !== "Predecessor")
      checks.add(`${field}.Type`, `"${entry.Type}" is not Successor or Predecessor`);
    const { start } = datesOf(entry.Date, checks, `${field}.Date`);
    return {
      kind: entry.Type === "Predecessor" ? "Predecessor" : "Successor",
      target: targetOf(entry.Target, checks, field).code ?? "",
      startDate: start,
    };
  });

  const location =
    isObject(organisation.GeoLoc) && isObject(organisation.GeoLoc.Location)
      ? organisation.GeoLoc.Location
      : {};
  const text = (value: unknown) => (typeof value === "string" && value.trim() !== "" ? value.trim() : null);
  const contacts = listIn(organisation.Contacts, "Contact").filter(isObject);
  return {
    odsCode,
    name,
    primaryRole: primary[0]?.code ?? "",
    roles: roles.sort((a, b) => Number(b.primary) - Number(a.primary) || a.code.localeCompare(b.code)),
    relationships,
    successors,
    address: {
      lines: [location.AddrLn1, location.AddrLn2, location.AddrLn3].map(text).filter((line) => line !== null),
      city: text(location.Town),
      postcode: text(location.PostCode)?.toUpperCase() ?? null,
    },
    telephone: text(contacts.find((contact) => contact.type === "tel")?.value),
    openDate,
    closeDate,
    active,
    lastChangeDate,
  };
}
