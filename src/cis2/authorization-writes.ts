import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "kysely";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { Db } from "../store/database.ts";
import type { HeldRow } from "./exchange-writes.ts";
import { orUnavailable } from "./unavailable.ts";

/**
 * The end of a sign-in (oidc-provider's resume, or an authorization request an existing
 * session answers at once) writes the interaction's removal, the grant, the code and the
 * session one at a time: four statements, four commits. Here they are held until the answer is
 * ready and then written in one statement, one commit, before the browser is sent on, so what
 * the browser is told of is stored on every node as before. A request that fails before its end
 * writes none of them: its interaction is left to expire, as one abandoned would be.
 */
type HeldWrite = { kind: string; id: string; row?: HeldRow };

const heldKinds = new Set(["Interaction", "Session", "Grant", "AuthorizationCode"]);
const held = new AsyncLocalStorage<Map<string, HeldWrite>>();

/** Holds a model's upsert (with its row) or removal (without), in an authorization request. */
export function holdModelWrite(kind: string, id: string, row?: HeldRow): boolean {
  const writes = held.getStore();
  if (!writes || !heldKinds.has(kind)) return false;
  // The last write of a model is the one that counts: one statement may touch a row only once.
  writes.set(`${kind}\u0000${id}`, { kind, id, row });
  return true;
}

/**
 * A model as this request's held writes leave it: `{ row }` when written (`row` undefined when
 * removed), undefined when this request has not written it, so it must be read.
 */
export function heldModel(kind: string, column: "id" | "uid", value: string): { row?: HeldRow } | undefined {
  const writes = held.getStore();
  if (!writes) return undefined;
  if (column === "id") return writes.get(`${kind}\u0000${value}`);
  for (const write of writes.values()) if (write.kind === kind && write.row?.uid === value) return write;
  return undefined;
}

/** The authorization endpoint's middleware (and its resume): hold its writes, then make them at once. */
export function oneCommitPerAuthorizationRequest(db: Db, authorizationPath: string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.path !== authorizationPath && !ctx.path.startsWith(`${authorizationPath}/`)) return next();
    const writes = new Map<string, HeldWrite>();
    await held.run(writes, next);
    if (writes.size > 0) await orUnavailable(() => writeHeld(db, [...writes.values()]));
  };
}

async function writeHeld(db: Db, writes: HeldWrite[]): Promise<void> {
  const removed = writes.filter((write) => !write.row);
  const rows = writes.flatMap((write) => (write.row ? [write.row] : []));
  const removal = removed.length
    ? sql`removed AS (DELETE FROM oidc_models WHERE (kind, id) IN (${sql.join(removed.map((write) => sql`(${write.kind}, ${write.id})`))}) RETURNING 1)`
    : undefined;
  const upsert = rows.length
    ? sql`INSERT INTO oidc_models (kind, id, payload, grant_id, user_code, uid, expires_at)
        VALUES ${sql.join(rows.map((row) => sql`(${row.kind}, ${row.id}, ${row.payload}::jsonb, ${row.grant_id}, ${row.user_code}, ${row.uid}, ${row.expires_at}::timestamptz)`))}
        ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
          user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at`
    : sql`SELECT count(*) FROM removed`;
  await (removal ? sql`WITH ${removal} ${upsert}` : upsert).execute(db);
}
