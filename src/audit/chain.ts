import { createHash } from "node:crypto";

/**
 * The fields of an audit event that its hash covers. The sequence number is left out on
 * purpose: order is carried by previousHash, so a moved row still verifies on its own and is
 * reported as out of order rather than as edited.
 */
export type ChainedFields = {
  at: string;
  actorKind: string;
  actorId: string | null;
  actorRoleId: string | null;
  action: string;
  subjectType: string | null;
  subjectId: string | null;
  before: unknown;
  after: unknown;
  reason: string | null;
  source: string;
  correlationId: string | null;
  previousHash: string;
};

export const genesisHash = "0".repeat(64);

export function eventHash(fields: ChainedFields): string {
  return createHash("sha256").update(canonicalJson(fields)).digest("hex");
}

/**
 * JSON with object keys sorted at every depth, so a value read back from jsonb (which
 * reorders keys) hashes the same as the value that was written.
 */
export function canonicalJson(value: unknown): string {
  if (value === undefined || value === null) return "null";
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
