import type { Selectable } from "kysely";
import type { Db } from "../store/database.ts";
import type { AuditEventsTable } from "../store/schema.ts";
import { type ChainedFields, eventHash, genesisHash } from "./chain.ts";

export type AuditProblem = {
  seq: number;
  kind: "edited" | "missing" | "out-of-order" | "truncated";
  message: string;
};

export type AuditReport = { ok: boolean; checked: number; problems: AuditProblem[] };

const batchSize = 5000;

/**
 * Walks the whole chain in order and names every break: an event whose content no longer
 * matches its hash (edited), a gap in the sequence (missing), an event that does not follow
 * the one before it (out of order), and a log that ends before the recorded head (truncated).
 */
export async function verifyAuditLog(db: Db): Promise<AuditReport> {
  const problems: AuditProblem[] = [];
  let expectedSeq = 1;
  let previousHash = genesisHash;
  let checked = 0;
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
        problems.push({
          seq: expectedSeq,
          kind: "missing",
          message: `events ${expectedSeq}..${seq - 1} are missing: deleted from the log`,
        });
      }
      if (eventHash(chainedFields(row)) !== row.hash) {
        problems.push({
          seq,
          kind: "edited",
          message: `event ${seq} (${row.action}) was changed after it was written`,
        });
      } else if (row.previous_hash !== previousHash && seq === expectedSeq) {
        problems.push(await misplaced(db, seq, row.previous_hash));
      }
      previousHash = row.hash;
      expectedSeq = seq + 1;
      checked++;
    }
    if (rows.length < batchSize) break;
  }
  const head = await db.selectFrom("audit_head").select(["seq", "hash"]).executeTakeFirstOrThrow();
  if (Number(head.seq) !== expectedSeq - 1 || head.hash !== previousHash) {
    problems.push({
      seq: expectedSeq,
      kind: "truncated",
      message: `the log ends at event ${expectedSeq - 1} but its head records event ${head.seq}: events were removed from the end`,
    });
  }
  return { ok: problems.length === 0, checked, problems };
}

async function misplaced(db: Db, seq: number, previousHash: string): Promise<AuditProblem> {
  const predecessor = await db
    .selectFrom("audit_events")
    .select("seq")
    .where("hash", "=", previousHash)
    .executeTakeFirst();
  const where = predecessor ? `it was written after event ${predecessor.seq}` : "its predecessor is gone";
  return { seq, kind: "out-of-order", message: `event ${seq} is out of place: ${where}` };
}

function chainedFields(row: Selectable<AuditEventsTable>): ChainedFields {
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
