import { sql } from "kysely";
import type { Db } from "../store/database.ts";
import { systemActor } from "./actor.ts";
import { unkeyedChain } from "./chain.ts";
import { recordEvent } from "./record.ts";

/**
 * Pins the events written before the chain was keyed. When the newest event still has an unkeyed
 * link (a database upgraded from before migration 0015), one keyed event is appended; its HMAC
 * covers the last unkeyed hash, so no earlier event can be rewritten, and its chain recomputed,
 * without breaking that link. Verification then requires the newest event to be keyed, which a
 * rewrite without the key cannot fake. Returns the sequence number of the event it wrote, if any.
 */
export async function pinUnkeyedEvents(db: Db): Promise<number | undefined> {
  return db.transaction().execute(async (tx) => {
    // The head lock orders this with any writer, so two nodes starting at once pin only once.
    const head = await sql<{ seq: number }>`SELECT seq FROM audit_head FOR UPDATE`.execute(tx);
    const newest = Number(head.rows[0]?.seq ?? 0);
    if (newest === 0) return undefined;
    const event = await tx
      .selectFrom("audit_events")
      .select("chain_version")
      .where("seq", "=", newest)
      .executeTakeFirst();
    if (event?.chain_version !== unkeyedChain) return undefined;
    return recordEvent(tx, systemActor("migrate"), {
      action: "audit.chain-keyed",
      after: { unkeyedThrough: newest },
      reason: "events from here on are authenticated by an HMAC under a key derived from the master key",
    });
  });
}
