import type { Selectable } from "kysely";
import type { Db, Queryable } from "../store/database.ts";
import type { AuditEventsTable } from "../store/schema.ts";
import { type ChainedFields, eventHash, eventMac, genesisHash, keyedChain, unkeyedChain } from "./chain.ts";
import { requireAuditKey } from "./chain-key.ts";

export type AuditProblem = {
  seq: number;
  /** The last event of a run of consecutive events with the same problem. */
  through?: number;
  kind: "edited" | "missing" | "out-of-order" | "truncated" | "unkeyed" | "wrong-key";
  message: string;
};

export type AuditReport = { ok: boolean; checked: number; problems: AuditProblem[] };

const batchSize = 5000;

type Row = Selectable<AuditEventsTable>;

/**
 * Walks the whole chain in order, a batch at a time, and names every break: an event whose
 * content no longer matches its link (edited), a gap in the sequence (missing), an event that
 * does not follow the one before it (out of order), a log that ends before the recorded head
 * (truncated), and an event without an HMAC where the chain is keyed (unkeyed). Events written
 * before the chain was keyed (version 1) are checked by their SHA-256 and may only come first;
 * the newest event must be keyed, so rewriting the whole log with plain hashes is found too. When
 * no keyed event matches, the key is wrong, and that is the one problem reported.
 */
export async function verifyAuditLog(db: Db): Promise<AuditReport> {
  // One snapshot for the events and the head: a log still being written (a running service)
  // would otherwise show an event committed between the two reads as removed from the end.
  return db
    .transaction()
    .setIsolationLevel("repeatable read")
    .setAccessMode("read only")
    .execute((tx) => verifySnapshot(tx));
}

async function verifySnapshot(db: Queryable): Promise<AuditReport> {
  const key = requireAuditKey(db);
  const problems = new Problems();
  let expectedSeq = 1;
  let previousHash = genesisHash;
  let checked = 0;
  let firstKeyed: number | undefined;
  let keyedChecked = 0;
  let keyedFailed = 0;
  let newest: Row | undefined;
  for (;;) {
    const rows = await db
      .selectFrom("audit_events")
      .selectAll()
      .where("seq", ">=", expectedSeq)
      .orderBy("seq")
      .limit(batchSize)
      .execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      if (seq !== expectedSeq) {
        problems.add({
          seq: expectedSeq,
          kind: "missing",
          message: `events ${expectedSeq}..${seq - 1} are missing: deleted from the log`,
        });
      }
      const fields = chainedFields(row);
      let linked = false;
      if (row.chain_version === keyedChain) {
        firstKeyed ??= seq;
        keyedChecked++;
        linked = eventMac(key, fields) === row.hash;
        if (!linked) {
          keyedFailed++;
          problems.run(seq, "edited", true, row.action);
        }
      } else if (row.chain_version === unkeyedChain && firstKeyed === undefined) {
        linked = eventHash(fields) === row.hash;
        if (!linked) problems.run(seq, "edited", false, row.action);
      } else {
        problems.run(seq, "unkeyed", false, row.action, firstKeyed);
      }
      if (linked && row.previous_hash !== previousHash && seq === expectedSeq) {
        problems.add(await misplaced(db, seq, row.previous_hash, row.chain_version === keyedChain));
      }
      previousHash = row.hash;
      expectedSeq = seq + 1;
      checked++;
      newest = row;
    }
    if (rows.length < batchSize) break;
  }
  if (newest && newest.chain_version === unkeyedChain && firstKeyed === undefined) {
    problems.add({
      seq: Number(newest.seq),
      kind: "unkeyed",
      message: `the newest event, ${newest.seq}, has no HMAC: the log was rewritten with plain hashes, or the database has not been migrated since the chain was keyed (run careid migrate)`,
    });
  }
  if (firstKeyed !== undefined && keyedFailed === keyedChecked) {
    problems.replaceKeyedEdits({
      seq: firstKeyed,
      kind: "wrong-key",
      message: `none of the ${keyedChecked} keyed events matches this master key: the key is probably wrong (CAREID_MASTER_KEY, or master.key in the data directory), or every keyed event was rewritten`,
    });
  }
  const head = await db.selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow();
  if (Number(head.seq) !== expectedSeq - 1) {
    problems.add({
      seq: expectedSeq,
      kind: "truncated",
      message: `the log ends at event ${expectedSeq - 1} but its head records event ${head.seq}: events were removed from the end`,
    });
  } else if (head.hash !== previousHash) {
    problems.add({
      seq: expectedSeq,
      kind: "truncated",
      message: `the head records another link for event ${head.seq} than the log holds: the end of the log was removed and rewritten`,
    });
  }
  const list = problems.list();
  return { ok: list.length === 0, checked, problems: list };
}

/**
 * The problems found so far. A rewrite from some event onwards breaks every link after it, so
 * consecutive events with the same problem are one run: the report stays short, and its size
 * bounded by the breaks rather than by the log.
 */
class Problems {
  #problems: AuditProblem[] = [];
  #keyed = new Set<AuditProblem>();
  #open: { problem: AuditProblem; keyed: boolean } | undefined;

  add(problem: AuditProblem): void {
    this.#open = undefined;
    this.#problems.push(problem);
  }

  run(seq: number, kind: "edited" | "unkeyed", keyed: boolean, action: string, firstKeyed?: number): void {
    const open = this.#open;
    if (
      open &&
      open.problem.kind === kind &&
      open.keyed === keyed &&
      (open.problem.through ?? open.problem.seq) === seq - 1
    ) {
      open.problem.through = seq;
      open.problem.message = runMessage(open.problem.seq, seq, kind, keyed, firstKeyed);
      return;
    }
    const problem: AuditProblem = { seq, kind, message: eventMessage(seq, action, kind, keyed, firstKeyed) };
    this.add(problem);
    this.#open = { problem, keyed };
    if (keyed) this.#keyed.add(problem);
  }

  /** One problem in place of every keyed event's failure: they all share one cause. */
  replaceKeyedEdits(problem: AuditProblem): void {
    this.#problems = [problem, ...this.#problems.filter((each) => !this.#keyed.has(each))];
    this.#open = undefined;
  }

  list(): AuditProblem[] {
    return this.#problems;
  }
}

function eventMessage(
  seq: number,
  action: string,
  kind: "edited" | "unkeyed",
  keyed: boolean,
  firstKeyed: number | undefined,
): string {
  if (kind === "unkeyed")
    return `event ${seq} (${action}) has no HMAC although the chain is keyed from event ${firstKeyed}: it was written or rewritten without the audit key`;
  return keyed
    ? `event ${seq} (${action}) was changed after it was written: its HMAC does not match`
    : `event ${seq} (${action}) was changed after it was written`;
}

function runMessage(
  first: number,
  last: number,
  kind: "edited" | "unkeyed",
  keyed: boolean,
  firstKeyed: number | undefined,
): string {
  if (kind === "unkeyed")
    return `events ${first}..${last} have no HMAC although the chain is keyed from event ${firstKeyed}: written or rewritten without the audit key`;
  return keyed
    ? `events ${first}..${last} were changed after they were written: their HMACs do not match (rewritten without the audit key)`
    : `events ${first}..${last} were changed after they were written`;
}

async function misplaced(
  db: Queryable,
  seq: number,
  previousHash: string,
  keyed: boolean,
): Promise<AuditProblem> {
  const predecessor = await db
    .selectFrom("audit_events")
    .select("seq")
    .where("hash", "=", previousHash)
    .executeTakeFirst();
  if (predecessor)
    return {
      seq,
      kind: "out-of-order",
      message: `event ${seq} is out of place: it was written after event ${predecessor.seq}`,
    };
  // A keyed event authenticates the link it was written after. No event holds that hash any more,
  // yet the events before it verify: they were rewritten and their chain recomputed.
  if (keyed)
    return {
      seq: seq - 1,
      kind: "edited",
      message: `event ${seq - 1} or an event before it was rewritten and the chain recomputed: keyed event ${seq} was written after a different event ${seq - 1}`,
    };
  return { seq, kind: "out-of-order", message: `event ${seq} is out of place: its predecessor is gone` };
}

/** The fields of a stored event that its link covers. */
export function chainedFields(row: Row): ChainedFields {
  return {
    at: new Date(row.at).toISOString(),
    actorKind: row.actor_kind,
    actorId: row.actor_id,
    actorRoleId: row.actor_role_id,
    action: row.action,
    subjectType: row.subject_type,
    subjectId: row.subject_id,
    before: row.before,
    after: row.after,
    reason: row.reason,
    source: row.source,
    correlationId: row.correlation_id,
    previousHash: row.previous_hash,
  };
}
