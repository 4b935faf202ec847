import { AsyncLocalStorage } from "node:async_hooks";
import { type OperationNodeSource, sql } from "kysely";
import type { KoaContextWithOIDC } from "oidc-provider";
import { type AuditEvent, recordEvents } from "../audit/record.ts";
import { type Db, inTransaction, writeTables } from "../store/database.ts";
import type { HeldRow } from "./exchange-writes.ts";
import { orUnavailable } from "./unavailable.ts";

/**
 * The end of a sign-in (oidc-provider's resume, or an authorization request an existing
 * session answers at once) writes the interaction's removal, the grant, the code and the
 * session one at a time: four statements, four commits. Here they are held until the answer is
 * ready and then written in one statement, one commit, before the browser is sent on, so what
 * the browser is told of is stored on every node as before. Other writes of the sign-in's end (the
 * session's last use, a role chosen for the person, with its audit record) join them. A request
 * that fails before its end writes none of them: its interaction is left to expire, as one
 * abandoned would be.
 */
type HeldWrite = { kind: string; id: string; row?: HeldRow };
/** What an authorization request holds: its model writes, and other writes with their audit records. */
type Held = { models: Map<string, HeldWrite>; writes: OperationNodeSource[]; events: AuditEvent[] };

const heldKinds = new Set(["Interaction", "Session", "Grant", "AuthorizationCode"]);
const held = new AsyncLocalStorage<Held>();

/** Holds a model's upsert (with its row) or removal (without), in an authorization request. */
export function holdModelWrite(kind: string, id: string, row?: HeldRow): boolean {
  const writes = held.getStore()?.models;
  if (!writes || !heldKinds.has(kind)) return false;
  // The last write of a model is the one that counts: one statement may touch a row only once.
  writes.set(`${kind}\u0000${id}`, { kind, id, row });
  return true;
}

/**
 * Holds a write the sign-in's end makes beside the models (the session's last use, a role
 * chosen for the person) with the events that record it, to be made in the same commit; false
 * outside an authorization request, where the caller writes it at once.
 */
export function holdWrite(write: OperationNodeSource, events: AuditEvent[] = []): boolean {
  const store = held.getStore();
  if (!store) return false;
  store.writes.push(write);
  store.events.push(...events);
  return true;
}

/**
 * A model as this request's held writes leave it: `{ row }` when written (`row` undefined when
 * removed), undefined when this request has not written it, so it must be read.
 */
export function heldModel(kind: string, column: "id" | "uid", value: string): { row?: HeldRow } | undefined {
  const writes = held.getStore()?.models;
  if (!writes) return undefined;
  if (column === "id") return writes.get(`${kind}\u0000${value}`);
  for (const write of writes.values()) if (write.kind === kind && write.row?.uid === value) return write;
  return undefined;
}

/** The authorization endpoint's middleware (and its resume): hold its writes, then make them at once. */
export function oneCommitPerAuthorizationRequest(db: Db, authorizationPath: string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.path !== authorizationPath && !ctx.path.startsWith(`${authorizationPath}/`)) return next();
    await inOneCommit(db, next);
  };
}

/** Runs a step of a sign-in holding its writes, then makes them, with their records, in one commit. */
export async function inOneCommit<T>(db: Db, work: () => Promise<T>): Promise<T> {
  const { answer, writes, events } = await holdingWrites(work);
  if (writes.length > 0) await orUnavailable(() => writeHeld(db, writes, events));
  return answer;
}

/**
 * Runs `work` holding its writes, and gives them back unmade, with their records, for the caller
 * to make in a statement of its own (a security key's, beside its counter).
 */
export async function holdingWrites<T>(
  work: () => Promise<T>,
): Promise<{ answer: T; writes: OperationNodeSource[]; events: AuditEvent[] }> {
  const store: Held = { models: new Map(), writes: [], events: [] };
  const answer = await held.run(store, work);
  return {
    answer,
    writes: [...modelWrites([...store.models.values()]), ...store.writes],
    events: store.events,
  };
}

/** Audited writes need the audit head, so a transaction; the rest is one statement alone. */
async function writeHeld(db: Db, writes: OperationNodeSource[], events: AuditEvent[]): Promise<void> {
  if (events.length > 0) await inTransaction(db, (tx) => recordEvents(tx, events, writes));
  else await sql`WITH ${writeTables(writes, "write")} SELECT 1`.execute(db);
}

/** The models' removals and upserts, as two statements that can share one. */
function modelWrites(writes: HeldWrite[]): OperationNodeSource[] {
  const removed = writes.filter((write) => !write.row);
  const rows = writes.flatMap((write) => (write.row ? [write.row] : []));
  const statements: OperationNodeSource[] = [];
  if (removed.length > 0)
    statements.push(
      sql`DELETE FROM oidc_models WHERE (kind, id) IN (${sql.join(removed.map((write) => sql`(${write.kind}, ${write.id})`))})`,
    );
  if (rows.length > 0)
    statements.push(sql`INSERT INTO oidc_models (kind, id, payload, grant_id, user_code, uid, expires_at)
        VALUES ${sql.join(rows.map((row) => sql`(${row.kind}, ${row.id}, ${row.payload}::jsonb, ${row.grant_id}, ${row.user_code}, ${row.uid}, ${row.expires_at}::timestamptz)`))}
        ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
          user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`);
  return statements;
}
