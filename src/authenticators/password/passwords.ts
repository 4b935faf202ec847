import { hash, verify } from "@node-rs/argon2";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { InvalidInputError } from "../../errors.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";

/**
 * Passwords: the authenticator app's first factor, chosen by its holder (rules in
 * new-password.ts), and the development realm's AAL1_USERPASS login (demo people only; the
 * switch is separate from these passwords). Argon2id runs on
 * libuv's thread pool, off the event loop. A sign-in for someone with no password still pays
 * for one verification, so timing does not tell who has one.
 */
export const passwordHashParameters = { memoryCost: 19456, timeCost: 2, parallelism: 1 };
let decoyHash: Promise<string> | undefined;

export async function setPassword(
  queryable: Queryable,
  actor: Actor,
  uuid: string,
  password: string,
): Promise<void> {
  if (typeof password !== "string" || password.length < 12 || password.length > 256) {
    throw InvalidInputError.field("password", "must be 12 to 256 characters");
  }
  const hashed = await hash(password, passwordHashParameters);
  await inTransaction(queryable, async (tx) => {
    await tx
      .insertInto("passwords")
      .values({ uuid, hash: hashed })
      .onConflict((conflict) => conflict.column("uuid").doUpdateSet({ hash: hashed, updated_at: new Date() }))
      .execute();
    await recordEvent(tx, actor, { action: "password.set", subject: { type: "person", id: uuid } });
  });
}

export async function checkPassword(queryable: Queryable, uuid: string, password: string): Promise<boolean> {
  const row = await queryable
    .selectFrom("passwords")
    .select(["hash", "reset_required"])
    .where("uuid", "=", uuid)
    .executeTakeFirst();
  decoyHash ??= hash("decoy password for timing", passwordHashParameters);
  const stored = row?.hash ?? (await decoyHash);
  const matches = await verify(stored, String(password ?? ""));
  // A password an RA forced to be reset is checked at the same cost, and matches no one.
  return matches && row !== undefined && !row.reset_required;
}

/** Removes a person's password, as closing their profile does; true if they had one. */
export async function removePassword(tx: Tx, uuid: string): Promise<boolean> {
  const removed = await tx.deleteFrom("passwords").where("uuid", "=", uuid).returning("uuid").execute();
  return removed.length > 0;
}

/** The Argon2id hash of a password, made before a transaction opens (it takes tens of ms). */
export async function hashPassword(password: string): Promise<string> {
  return hash(password, passwordHashParameters);
}

/** Stores a hash made by hashPassword inside the caller's transaction; a forced reset is cleared. */
export async function storePasswordHash(tx: Tx, actor: Actor, uuid: string, hashed: string, action: string) {
  await tx
    .insertInto("passwords")
    .values({ uuid, hash: hashed })
    .onConflict((conflict) =>
      conflict.column("uuid").doUpdateSet({ hash: hashed, updated_at: new Date(), reset_required: false }),
    )
    .execute();
  await recordEvent(tx, actor, { action, subject: { type: "person", id: uuid } });
}

export async function hasPassword(queryable: Queryable, uuid: string): Promise<boolean> {
  const row = await queryable
    .selectFrom("passwords")
    .select("uuid")
    .where("uuid", "=", uuid)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * An RA forces a reset (after checking policy "authenticator.issue"): the password signs no one
 * in until its holder resets it with an emailed code and a code from their app.
 */
export async function forcePasswordReset(queryable: Queryable, actor: Actor, uuid: string): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const updated = await tx
      .updateTable("passwords")
      .set({ reset_required: true })
      .where("uuid", "=", uuid)
      .returning("uuid")
      .executeTakeFirst();
    if (!updated) throw InvalidInputError.field("uuid", `Care Identity ${uuid} has no password`);
    await recordEvent(tx, actor, { action: "password.reset-forced", subject: { type: "person", id: uuid } });
  });
}
