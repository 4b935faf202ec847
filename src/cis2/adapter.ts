import { sql } from "kysely";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { readClientMetadata } from "./clients.ts";

/**
 * oidc-provider's storage in PostgreSQL or PGlite, so any node can continue what another began.
 * One table holds every model; rows past their expiry are invisible at once and deleted by
 * `removeExpiredModels`. Clients are read from the client registry instead.
 */
type Payload = Record<string, unknown> & { grantId?: string; userCode?: string; uid?: string };

export function adapterFactory(db: Db, sealer: Sealer) {
  return class DatabaseAdapter {
    readonly kind: string;

    constructor(kind: string) {
      this.kind = kind;
    }

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      const expiresAt = expiresIn ? new Date(Date.now() + expiresIn * 1000) : null;
      const row = {
        kind: this.kind,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresAt,
      };
      await db
        .insertInto("oidc_models")
        .values(row)
        .onConflict((conflict) =>
          conflict.columns(["kind", "id"]).doUpdateSet({
            payload: row.payload,
            grant_id: row.grant_id,
            user_code: row.user_code,
            uid: row.uid,
            expires_at: row.expires_at,
          }),
        )
        .execute();
    }

    async find(id: string): Promise<Payload | undefined> {
      if (this.kind === "Client") return readClientMetadata(db, sealer, id);
      return this.findWhere("id", id);
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      return this.findWhere("uid", uid);
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      return this.findWhere("user_code", userCode);
    }

    async consume(id: string): Promise<void> {
      await db
        .updateTable("oidc_models")
        .set({ consumed_at: new Date() })
        .where("kind", "=", this.kind)
        .where("id", "=", id)
        .execute();
    }

    async destroy(id: string): Promise<void> {
      await db.deleteFrom("oidc_models").where("kind", "=", this.kind).where("id", "=", id).execute();
    }

    // oidc-provider revokes kind by kind. Deleting every kind at once also took the Interaction of
    // a sign-in that switches account in the same browser (its logout revokes the old grant),
    // and the sign-in then failed with "interaction session not found".
    async revokeByGrantId(grantId: string): Promise<void> {
      await db
        .deleteFrom("oidc_models")
        .where("kind", "=", this.kind)
        .where("grant_id", "=", grantId)
        .execute();
    }

    private async findWhere(column: "id" | "uid" | "user_code", value: string): Promise<Payload | undefined> {
      const row = await db
        .selectFrom("oidc_models")
        .select(["payload", "consumed_at"])
        .where("kind", "=", this.kind)
        .where(column, "=", value)
        .where((eb) => eb.or([eb("expires_at", "is", null), eb("expires_at", ">", sql<Date>`now()`)]))
        .executeTakeFirst();
      if (!row) return undefined;
      const payload = row.payload as Payload;
      return row.consumed_at
        ? { ...payload, consumed: Math.floor(row.consumed_at.getTime() / 1000) }
        : payload;
    }
  };
}

/**
 * Records a client assertion's jti unless it was seen before: one atomic insert, so two nodes
 * racing with the same assertion cannot both accept it.
 */
export async function firstUseOfAssertion(db: Db, id: string, expiresAt: Date): Promise<boolean> {
  const inserted = await db
    .insertInto("oidc_models")
    .values({ kind: "ReplayDetection", id, payload: JSON.stringify({ jti: id }), expires_at: expiresAt })
    .onConflict((conflict) =>
      conflict
        .columns(["kind", "id"])
        .doUpdateSet({ expires_at: expiresAt })
        .where("oidc_models.expires_at", "<=", sql<Date>`now()`),
    )
    .executeTakeFirst();
  return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
}

export async function removeExpiredModels(db: Db): Promise<number> {
  const result = await db
    .deleteFrom("oidc_models")
    .where("expires_at", "<=", sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
