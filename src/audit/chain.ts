import { createHash, createHmac, createSecretKey, type KeyObject } from "node:crypto";

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

/**
 * How an event's link was computed. Version 1, the first, is a plain SHA-256 that anyone with
 * write access could recompute after an edit; version 2 is an HMAC-SHA-256 under the audit key
 * (chain-key.ts), which a rewrite without the master key cannot reproduce.
 */
export const unkeyedChain = 1;
export const keyedChain = 2;

/** The version 1 link: kept to verify the events written before the chain was keyed. */
export function eventHash(fields: ChainedFields): string {
  return createHash("sha256").update(canonicalJson(fields)).digest("hex");
}

/** The version 2 link: the same fields, authenticated under the audit key. */
export function eventMac(key: Buffer, fields: ChainedFields): string {
  return createHmac("sha256", secretKeyOf(key)).update(canonicalJson(fields)).digest("hex");
}

const secretKeys = new WeakMap<Buffer, KeyObject>();

/**
 * The audit key as a KeyObject, made once: an HMAC given the key's bytes makes one of its own
 * each time, about six times the cost of the HMAC of an event.
 */
function secretKeyOf(key: Buffer): KeyObject {
  let secret = secretKeys.get(key);
  if (!secret) {
    secret = createSecretKey(key);
    secretKeys.set(key, secret);
  }
  return secret;
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
