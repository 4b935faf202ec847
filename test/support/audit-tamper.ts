import { sql } from "kysely";
import { type ChainedFields, genesisHash } from "../../src/audit/chain.ts";
import { chainedFields } from "../../src/audit/verify.ts";
import type { Db } from "../../src/store/database.ts";

/**
 * Rewrites the audit log as someone holding the table but not the master key would: the
 * append-only trigger off, event `from` edited (its reason), the link of every event from it to
 * `through` (default: the end) recomputed by `link` and marked `version`, and, when the rewrite
 * reaches the end, the head moved to the new last link.
 */
export async function rewriteAuditLog(
  db: Db,
  options: { from: number; through?: number; link: (fields: ChainedFields) => string; version: number },
): Promise<void> {
  const { from, through, link, version } = options;
  await sql.raw("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only").execute(db);
  let rows = db.selectFrom("audit_events").selectAll().where("seq", ">=", from);
  if (through !== undefined) rows = rows.where("seq", "<=", through);
  const predecessor = await db
    .selectFrom("audit_events")
    .select("hash")
    .where("seq", "=", from - 1)
    .executeTakeFirst();
  let previousHash = predecessor?.hash ?? genesisHash;
  for (const row of await rows.orderBy("seq").execute()) {
    const reason = row.seq === from ? "approved by the board" : row.reason;
    const hash = link({ ...chainedFields(row), reason, previousHash });
    await sql`UPDATE audit_events SET reason = ${reason}, previous_hash = ${previousHash}, hash = ${hash},
      chain_version = ${version} WHERE seq = ${row.seq}`.execute(db);
    previousHash = hash;
  }
  if (through === undefined) await sql`UPDATE audit_head SET hash = ${previousHash}`.execute(db);
}
