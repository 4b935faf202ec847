import { CompiledQuery, type OperationNodeSource, sql } from "kysely";
import { type Tx, writeTables } from "../store/database.ts";
import type { Actor } from "./actor.ts";
import { canonicalJson, eventMac, keyedChain } from "./chain.ts";
import { requireAuditKey } from "./chain-key.ts";

export type AuditEntry = {
  /** What happened, as noun.verb: "person.created", "position.granted". */
  action: string;
  subject?: { type: string; id: string };
  before?: unknown;
  after?: unknown;
  reason?: string;
};

type Head = { seq: number; hash: string };

/**
 * The head each transaction has locked and moved: a transaction that records a second event
 * already holds the lock and knows the head it wrote, so it need not read it again.
 */
const headsHeld = new WeakMap<Tx, Head>();

/** An event to record: who acted, and what they did. */
export type AuditEvent = { actor: Actor; entry: AuditEntry };

/**
 * Appends one event to the chain inside the caller's transaction, so the change and its record
 * commit or vanish together. Returns the event's place in the chain.
 */
export function recordEvent(tx: Tx, actor: Actor, entry: AuditEntry): Promise<number> {
  return recordEvents(tx, [{ actor, entry }]);
}

/**
 * Appends events to the chain inside the caller's transaction, in one statement with the new
 * head and with `alongside`: the writes these events record (updates or inserts, each made as a
 * common table expression of the same statement), so a change and its record are one round
 * trip. Locking the head row orders concurrent writers; callers record last, just before
 * commit, to hold that lock as briefly as possible. Each link is an HMAC under the audit key the
 * transaction's store carries (chain-key.ts), so only the service can write an event that
 * verifies. Returns the last event's place in the chain.
 */
export async function recordEvents(
  tx: Tx,
  events: AuditEvent[],
  alongside: OperationNodeSource[] = [],
): Promise<number> {
  const key = requireAuditKey(tx);
  let head = headsHeld.get(tx) ?? (await lockHead(tx));
  const rows = events.map(({ actor, entry }) => {
    const row = chainedRow(key, actor, entry, head);
    head = { seq: row.seq, hash: row.hash };
    return row;
  });
  await tx.executeQuery(appendStatement(tx, rows, alongside, head));
  headsHeld.set(tx, head);
  return head.seq;
}

type Row = ReturnType<typeof chainedRow>;
const columns = [
  "seq",
  "at",
  "actor_kind",
  "actor_id",
  "actor_role_id",
  "action",
  "subject_type",
  "subject_id",
  "before",
  "after",
  "reason",
  "source",
  "correlation_id",
  "previous_hash",
  "chain_version",
  "hash",
] as const satisfies ReadonlyArray<keyof Row>;

/**
 * The statement that appends `rows` and moves the head, after the writes alongside them. Kysely
 * compiles the writes; the events' insert, whose shape never changes, is written out here: built
 * and compiled by Kysely it cost a sign-in more CPU than its round trip.
 */
function appendStatement(tx: Tx, rows: Row[], alongside: OperationNodeSource[], head: Head) {
  const writes = alongside.length
    ? sql`${writeTables(alongside, "alongside")}, `.compile(tx)
    : { sql: "", parameters: [] };
  const parameters: unknown[] = [...writes.parameters];
  const place = (value: unknown) => `$${parameters.push(value)}`;
  const values = rows.map((row) => `(${columns.map((column) => place(row[column])).join(", ")})`);
  return CompiledQuery.raw(
    `WITH ${writes.sql}event AS (INSERT INTO audit_events (${columns.join(", ")}) VALUES ${values.join(", ")})
      UPDATE audit_head SET seq = ${place(head.seq)}, hash = ${place(head.hash)}`,
    parameters,
  );
}

const lockHeadStatement = CompiledQuery.raw("SELECT seq, hash FROM audit_head FOR UPDATE");

/** An event as its row, linked to the head before it. */
function chainedRow(key: Buffer, actor: Actor, entry: AuditEntry, previous: Head) {
  const at = new Date();
  const before = entry.before === undefined ? null : JSON.parse(canonicalJson(entry.before));
  const after = entry.after === undefined ? null : JSON.parse(canonicalJson(entry.after));
  const fields = {
    at: at.toISOString(),
    actorKind: actor.kind,
    actorId: actor.id,
    actorRoleId: actor.roleId ?? null,
    action: entry.action,
    subjectType: entry.subject?.type ?? null,
    subjectId: entry.subject?.id ?? null,
    before,
    after,
    reason: entry.reason ?? null,
    source: actor.source,
    correlationId: actor.correlationId ?? null,
    previousHash: previous.hash,
  };
  return {
    seq: Number(previous.seq) + 1,
    at,
    actor_kind: fields.actorKind,
    actor_id: fields.actorId,
    actor_role_id: fields.actorRoleId,
    action: fields.action,
    subject_type: fields.subjectType,
    subject_id: fields.subjectId,
    before: before === null ? null : JSON.stringify(before),
    after: after === null ? null : JSON.stringify(after),
    reason: fields.reason,
    source: fields.source,
    correlation_id: fields.correlationId,
    previous_hash: fields.previousHash,
    chain_version: keyedChain,
    hash: eventMac(key, fields),
  };
}

async function lockHead(tx: Tx): Promise<Head> {
  const head = await tx.executeQuery<Head>(lockHeadStatement);
  const locked = head.rows[0];
  if (!locked) throw new Error("audit_head is missing: the database was not migrated");
  return locked;
}
