import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { InvalidInputError, NotFoundError } from "../../errors.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";

/**
 * What accredited systems and messaging endpoints share as directory entries: an owning
 * organisation that must be recorded, a 12-digit identifier, and removal with a reason, audited.
 */

/** A kind of entry as errors and audit events name it. */
export type EntryKind = {
  /** The audit subject type and event prefix: "accredited-system". */
  subject: string;
  /** The identifier's field name: "asid". */
  field: string;
  /** In words, for errors: "an accredited system". */
  words: string;
};

/** The owner must be a recorded organisation; a missing one is the odsCode field's problem. */
export async function requireOwner(tx: Queryable, odsCode: string): Promise<void> {
  const owner = await tx
    .selectFrom("organisations")
    .select("ods_code")
    .where("ods_code", "=", odsCode)
    .executeTakeFirst();
  if (!owner) throw new NotFoundError("organisation", `odsCode: no organisation has ODS code ${odsCode}`);
}

/** Reads one entry by its identifier: 400 for a malformed one, 404 for one not recorded. */
export async function readEntry<Row, Entry>(
  kind: EntryKind,
  id: string,
  read: () => Promise<Row | undefined>,
  fromRow: (row: Row) => Entry,
  notFound: string,
): Promise<Entry> {
  if (!isCareIdentifier(id)) throw InvalidInputError.field(kind.field, "must be 12 digits");
  const row = await read();
  if (!row) throw new NotFoundError(kind.subject, notFound);
  return fromRow(row);
}

/** Removes one entry with the reason given, recording what it was in the same transaction. */
export async function removeEntry<Entry>(
  queryable: Queryable,
  actor: Actor,
  kind: EntryKind,
  id: string,
  reason: string,
  steps: { get: (tx: Tx) => Promise<Entry>; remove: (tx: Tx) => Promise<unknown> },
): Promise<Entry> {
  if (!reason?.trim()) throw InvalidInputError.field("reason", `is required to remove ${kind.words}`);
  return inTransaction(queryable, async (tx) => {
    const entry = await steps.get(tx);
    await steps.remove(tx);
    await recordEvent(tx, actor, {
      action: `${kind.subject}.removed`,
      subject: { type: kind.subject, id },
      before: entry,
      reason,
    });
    return entry;
  });
}
