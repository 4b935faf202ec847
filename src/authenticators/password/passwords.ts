import { hash, verify } from "@node-rs/argon2";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { InvalidInputError } from "../../errors.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";

/**
 * Passwords exist only for the development realm's AAL1_USERPASS login. Argon2id runs on
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
    .select("hash")
    .where("uuid", "=", uuid)
    .executeTakeFirst();
  decoyHash ??= hash("decoy password for timing", passwordHashParameters);
  const stored = row?.hash ?? (await decoyHash);
  const matches = await verify(stored, String(password ?? ""));
  return matches && row !== undefined;
}

/** Removes a person's password, as closing their profile does; true if they had one. */
export async function removePassword(tx: Tx, uuid: string): Promise<boolean> {
  const removed = await tx.deleteFrom("passwords").where("uuid", "=", uuid).returning("uuid").execute();
  return removed.length > 0;
}
