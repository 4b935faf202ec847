import { createHash, randomBytes, randomUUID } from "node:crypto";
import { type Selectable, sql } from "kysely";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError, Problems } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import type { ApiApplicationsTable } from "../../store/schema.ts";

/** Revoking a key notifies this channel in its transaction; every node's key cache listens. */
export const applicationKeysChannel = "careid_application_keys";

/**
 * An application allowed to call the directory APIs with its API key (the `apikey` header).
 * An admin application may also change the accredited systems registry.
 */
export type Application = {
  id: string;
  name: string;
  /** The first characters of the key, enough to recognise it in a list, never to use it. */
  keyPrefix: string;
  admin: boolean;
  rateLimitPerMinute: number;
  status: "active" | "revoked";
  createdAt: string;
};

export type NewApplication = { name?: unknown; admin?: unknown; rateLimitPerMinute?: unknown };

export const defaultRateLimitPerMinute = 1200;
const keyPrefix = "careid_";

/** Keys carry 256 random bits, so a plain SHA-256 digest is as good as a slow hash here. */
export function keyDigest(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}

function checkApplication(input: NewApplication) {
  const problems = new Problems();
  const name = typeof input.name === "string" ? input.name.trim() : "";
  if (name.length === 0 || name.length > 200) problems.add("name", "is required (up to 200 characters)");
  const limit = input.rateLimitPerMinute ?? defaultRateLimitPerMinute;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > 10_000_000)
    problems.add("rateLimitPerMinute", "must be a whole number from 1 to 10000000");
  if (input.admin !== undefined && typeof input.admin !== "boolean")
    problems.add("admin", "must be true or false");
  problems.throwIfAny();
  return { name, admin: input.admin === true, rateLimitPerMinute: limit as number };
}

/** Issues a new application and its key; the key is returned once and only its digest is kept. */
export async function issueApplication(
  queryable: Queryable,
  actor: Actor,
  input: NewApplication,
): Promise<{ application: Application; key: string }> {
  const checked = checkApplication(input);
  const key = `${keyPrefix}${randomBytes(32).toString("base64url")}`;
  return inTransaction(queryable, async (tx) => {
    const row = await tx
      .insertInto("api_applications")
      .values({
        id: randomUUID(),
        name: checked.name,
        key_digest: keyDigest(key),
        key_prefix: key.slice(0, keyPrefix.length + 6),
        admin: checked.admin,
        rate_limit_per_minute: checked.rateLimitPerMinute,
        status: "active",
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    const application = applicationFromRow(row);
    await recordEvent(tx, actor, {
      action: "application.issued",
      subject: { type: "application", id: application.id },
      after: application,
    });
    return { application, key };
  });
}

export async function listApplications(queryable: Queryable): Promise<Application[]> {
  const rows = await queryable.selectFrom("api_applications").selectAll().orderBy("created_at").execute();
  return rows.map(applicationFromRow);
}

/** Revokes an application's key at once on every node: the notice makes each forget its cached keys. */
export async function revokeApplication(
  queryable: Queryable,
  actor: Actor,
  id: string,
): Promise<Application> {
  if (!/^[0-9a-f-]{36}$/.test(id)) throw InvalidInputError.field("id", "must be an application id (a UUID)");
  return inTransaction(queryable, async (tx) => {
    const row = await tx.selectFrom("api_applications").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw new NotFoundError("application", `No application has id ${id}`);
    if (row.status === "revoked") throw new ConflictError(`application ${id} is already revoked`);
    const revoked = await tx
      .updateTable("api_applications")
      .set({ status: "revoked", revoked_at: new Date() })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordEvent(tx, actor, {
      action: "application.revoked",
      subject: { type: "application", id },
      before: { status: row.status },
      after: { status: "revoked" },
    });
    await sql`SELECT pg_notify(${applicationKeysChannel}, ${id})`.execute(tx);
    return applicationFromRow(revoked);
  });
}

/** The active application holding this key, or undefined for an unknown or revoked key. */
export async function applicationForKey(queryable: Queryable, key: string): Promise<Application | undefined> {
  const row = await queryable
    .selectFrom("api_applications")
    .selectAll()
    .where("key_digest", "=", keyDigest(key))
    .where("status", "=", "active")
    .executeTakeFirst();
  return row ? applicationFromRow(row) : undefined;
}

function applicationFromRow(row: Selectable<ApiApplicationsTable>): Application {
  return {
    id: row.id,
    name: row.name,
    keyPrefix: row.key_prefix,
    admin: row.admin,
    rateLimitPerMinute: row.rate_limit_per_minute,
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
