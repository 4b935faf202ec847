import { createHash } from "node:crypto";

/** One organisation as an ODS file describes it, whichever format carried it. */
export type OdsRecord = {
  odsCode: string;
  name: string;
  /** The primary role's code (organisations.type_code). */
  primaryRole: string;
  roles: OdsRole[];
  relationships: OdsRelationship[];
  successors: OdsSuccessor[];
  address: { lines: string[]; city: string | null; postcode: string | null };
  telephone: string | null;
  openDate: string | null;
  closeDate: string | null;
  active: boolean;
  /** When ODS last changed the record, where the format says (ORD JSON does, CSV extracts do not). */
  lastChangeDate: string | null;
};

export type OdsRole = {
  code: string;
  primary: boolean;
  startDate: string | null;
  endDate: string | null;
  active: boolean;
};

export type OdsRelationship = {
  code: string;
  target: string;
  targetRole: string | null;
  startDate: string | null;
  endDate: string | null;
  active: boolean;
};

export type OdsSuccessor = { kind: "Successor" | "Predecessor"; target: string; startDate: string | null };

/** A fault in one row (CSV line, or organisation in a JSON file), numbered from 1. */
export type RowProblem = { row: number; field: string; message: string };

/** A digest of everything imported about an organisation: equal digests, nothing to change. */
export function recordDigest(record: OdsRecord): string {
  return createHash("sha256").update(JSON.stringify(record)).digest("base64url");
}

/**
 * Whether a record with this close date is closed on `today`: ODS publishes a close date ahead
 * of time, and the organisation stays open until it comes.
 */
export function closedBy(closeDate: string | null, today: string): boolean {
  return closeDate !== null && closeDate <= today;
}
