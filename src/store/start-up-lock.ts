import { sql } from "kysely";
import type { Tx } from "./database.ts";

/**
 * Nodes of a fleet started at the same moment all run the same start-up work: migrations, the
 * national code lists, the demo directory, the signing key and the clients ensured at start. Each
 * such step checks what is there and then writes what is missing, which two nodes racing would
 * both do (and the second fail on a unique key). Every step therefore takes this lock first in
 * its own transaction: PostgreSQL runs them one node at a time, and the node that waited reads
 * the winner's committed rows and finds nothing left to do. The lock is transaction-scoped, so a
 * node that dies holding it releases it with its connection.
 */
export const startUpLockStatement = "SELECT pg_advisory_xact_lock(7315001)";

export async function takeStartUpLock(tx: Tx): Promise<void> {
  await sql.raw(startUpLockStatement).execute(tx);
}
