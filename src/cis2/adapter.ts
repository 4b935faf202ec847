import { type InferResult, type RawBuilder, sql } from "kysely";
import { errors } from "oidc-provider";
import { isoToday } from "../rbac/positions.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { compiledOnce } from "../store/compiled.ts";
import type { Db, Queryable } from "../store/database.ts";
import { hasNulByte } from "../store/text.ts";
import { nulBytePath } from "../web/nul-bytes.ts";
import { type AccountRow, accountQuery, rememberAccount } from "./account-read.ts";
import { heldModel, holdModelWrite } from "./authorization-writes.ts";
import type { ClientCache } from "./client-cache.ts";
import { readClientMetadata } from "./clients.ts";
import { clientStorage } from "./dynamic-registration.ts";
import { type HeldRow, holdAssertion, holdConsumption, holdToken } from "./exchange-writes.ts";
import { forget, readOnce, remember } from "./request-scope.ts";

/**
 * oidc-provider's storage in PostgreSQL or PGlite, so any node can continue what another began.
 * One table holds every model; rows past their expiry are invisible at once and deleted by
 * `removeExpiredModels`. Clients are read from the client registry instead.
 */
type Payload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  sessionUid?: string;
};

/**
 * Where a model names the session, grant and person it belongs to, for the kinds whose every use
 * reads those next: a code or token's claims need its account, and oidc-provider checks an
 * interaction's session on every read of it (the role page, the choice and the resume after it
 * read the account too). Such a model is read with them in one round trip, and they are kept for
 * the rest of the request.
 */
type Links = {
  sessionUid: RawBuilder<string | null>;
  grantId: RawBuilder<string | null>;
  accountId: RawBuilder<string | null>;
};
const tokenLinks: Links = {
  sessionUid: sql`token.payload->>'sessionUid'`,
  grantId: sql`token.payload->>'grantId'`,
  accountId: sql`token.payload->>'accountId'`,
};
// An interaction names its session once someone has signed in, or the person who just did in its
// result (read at the resume that makes their session); it has no grant of its own.
const interactionLinks: Links = {
  sessionUid: sql`token.payload->'session'->>'uid'`,
  grantId: sql`NULL`,
  accountId: sql`coalesce(token.payload->'session'->>'accountId', token.payload->'result'->'login'->>'accountId')`,
};

/** Keys of what a request has read, by kind: `oidc:Grant:id:…`, `oidc:Session:uid:…`. */
const readKey = (kind: string, column: string, value: string) => `oidc:${kind}:${column}:${value}`;

export function adapterFactory(db: Db, sealer: Sealer, clients: ClientCache) {
  const registry = clientStorage(db, sealer);
  return class DatabaseAdapter {
    readonly kind: string;

    constructor(kind: string) {
      this.kind = kind;
    }

    async upsert(id: string, payload: Payload, expiresIn?: number): Promise<void> {
      refuseNulParameters(payload);
      if (this.kind === "Client") return registry.upsert(id, payload);
      // In whole seconds, as oidc-provider counts: an interaction saved again at each step keeps
      // the same expiry, so PostgreSQL can update its row in place (a HOT update) rather than
      // write a new entry in every index.
      const expiresAt = expiresIn ? new Date((Math.floor(Date.now() / 1000) + expiresIn) * 1000) : null;
      const row = {
        kind: this.kind,
        id,
        payload: JSON.stringify(payload),
        grant_id: payload.grantId ?? null,
        user_code: payload.userCode ?? null,
        uid: payload.uid ?? null,
        expires_at: expiresAt,
      };
      forget(`oidc:${this.kind}:`);
      if (holdToken(row) || holdModelWrite(this.kind, id, row)) return;
      await upsertModel(
        db,
        row.kind,
        row.id,
        row.payload,
        row.grant_id,
        row.user_code,
        row.uid,
        row.expires_at,
      );
    }

    async find(id: string): Promise<Payload | undefined> {
      if (hasNulByte(id)) return undefined;
      if (this.kind === "Client")
        return copy(
          await readOnce(readKey(this.kind, "id", id), () =>
            clients.read(id, () => readClientMetadata(db, sealer, id)),
          ),
        );
      const written = heldModel(this.kind, "id", id);
      if (written) return payloadOf(written.row);
      return this.findWhere("id", id);
    }

    async findByUid(uid: string): Promise<Payload | undefined> {
      if (hasNulByte(uid)) return undefined;
      const written = heldModel(this.kind, "uid", uid);
      if (written) return payloadOf(written.row);
      return this.findWhere("uid", uid);
    }

    async findByUserCode(userCode: string): Promise<Payload | undefined> {
      if (hasNulByte(userCode)) return undefined;
      return this.findWhere("user_code", userCode);
    }

    async consume(id: string): Promise<void> {
      forget(`oidc:${this.kind}:`);
      if (holdConsumption(this.kind, id)) return;
      await db
        .updateTable("oidc_models")
        .set({ consumed_at: new Date() })
        .where("kind", "=", this.kind)
        .where("id", "=", id)
        .execute();
    }

    async destroy(id: string): Promise<void> {
      if (this.kind === "Client") return registry.destroy(id);
      if (holdModelWrite(this.kind, id)) return forget(`oidc:${this.kind}:`);
      await db.deleteFrom("oidc_models").where("kind", "=", this.kind).where("id", "=", id).execute();
      forget(`oidc:${this.kind}:`);
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
      forget(`oidc:${this.kind}:`);
    }

    private async findWhere(column: "id" | "uid" | "user_code", value: string): Promise<Payload | undefined> {
      const row = await readOnce(readKey(this.kind, column, value), async () => {
        const linked = column === "id" ? linkedLookups[this.kind] : undefined;
        const { rows } = await (linked ?? findModel[column])(db, this.kind, value);
        if (linked && rows[0]) rememberLinks(rows[0] as LinkedRow);
        return rows[0];
      });
      // A copy each time: the row is the request's, and oidc-provider's models change what they are given.
      return row ? withConsumed(JSON.parse(row.payload) as Payload, row.consumed_at) : undefined;
    }
  };
}

/** The models' upsert, compiled once: every step of a sign-in saves its interaction. */
const upsertModel = compiledOnce(7, (queryable, kind, id, payload, grantId, userCode, uid, expiresAt) =>
  queryable
    .insertInto("oidc_models")
    .values({ kind, id, payload, grant_id: grantId, user_code: userCode, uid, expires_at: expiresAt })
    .onConflict((conflict) =>
      conflict.columns(["kind", "id"]).doUpdateSet({
        payload,
        grant_id: grantId,
        user_code: userCode,
        uid,
        expires_at: expiresAt,
      }),
    ),
);

/** A live model by id, uid or user code, each compiled once: every step of a sign-in reads its interaction. */
const findModelBy = (column: "id" | "uid" | "user_code") =>
  compiledOnce(2, (queryable, kind, value) =>
    queryable
      .selectFrom("oidc_models")
      // As text: each read parses its own copy, rather than copying the one the driver parsed.
      .select([sql<string>`payload::text`.as("payload"), "consumed_at"])
      .where("kind", "=", kind)
      .where(column, "=", value)
      .where(live()),
  );
const findModel = { id: findModelBy("id"), uid: findModelBy("uid"), user_code: findModelBy("user_code") };

function lookupQuery(db: Queryable, kind: string, id: string, links: Links) {
  return db
    .selectFrom("oidc_models as token")
    .leftJoin("oidc_models as session", (join) =>
      join.on("session.kind", "=", "Session").on("session.uid", "=", links.sessionUid).on(live("session")),
    )
    .leftJoin("oidc_models as grant", (join) =>
      join.on("grant.kind", "=", "Grant").on("grant.id", "=", links.grantId).on(live("grant")),
    )
    .leftJoinLateral(
      // people.uuid is character(12): compared as text it would be read by a scan of every
      // person; cast to its own type (without a length, which would cut a longer value short)
      // it is found by its key.
      accountQuery(db, sql`(${links.accountId})::bpchar`, links.sessionUid).as("account"),
      (join) => join.onTrue(),
    )
    .selectAll("account")
    .select([
      // As text: each read parses its own copy, rather than copying the one the driver parsed.
      sql<string>`token.payload::text`.as("payload"),
      "token.consumed_at",
      links.sessionUid.as("sessionUid"),
      links.grantId.as("grantId"),
      links.accountId.as("accountId"),
      sql<string | null>`${sql.ref("session.payload")}::text`.as("sessionPayload"),
      "session.consumed_at as sessionConsumedAt",
      sql<string | null>`${sql.ref("grant.payload")}::text`.as("grantPayload"),
      "grant.consumed_at as grantConsumedAt",
    ])
    .where("token.kind", "=", kind)
    .where("token.id", "=", id)
    .where(live("token"));
}

type LinkedRow = InferResult<ReturnType<typeof lookupQuery>>[number];

/**
 * The lookups compiled once a day: building and compiling them with Kysely cost more of a
 * request's CPU than running them, and their "current positions" part carries the date.
 */
const linkedLookup = (links: Links) =>
  compiledOnce(2, (queryable, kind, id) => lookupQuery(queryable, kind, id, links), isoToday);
const tokenLookup = linkedLookup(tokenLinks);
const linkedLookups: Record<string, ReturnType<typeof linkedLookup>> = {
  AuthorizationCode: tokenLookup,
  AccessToken: tokenLookup,
  RefreshToken: tokenLookup,
  Interaction: linkedLookup(interactionLinks),
};

/** Keeps what a model was read with for the rest of the request: its session, grant and account. */
function rememberLinks(row: LinkedRow): void {
  if (row.sessionUid)
    remember(
      readKey("Session", "uid", row.sessionUid),
      row.sessionPayload ? { payload: row.sessionPayload, consumed_at: row.sessionConsumedAt } : undefined,
    );
  if (row.grantId)
    remember(
      readKey("Grant", "id", row.grantId),
      row.grantPayload ? { payload: row.grantPayload, consumed_at: row.grantConsumedAt } : undefined,
    );
  if (row.accountId)
    rememberAccount(
      row.accountId,
      row.sessionUid ?? undefined,
      row.uuid === null ? undefined : (row as AccountRow),
    );
}

/**
 * Where the provider's input meets the database, NUL bytes stop: PostgreSQL cannot hold them.
 * An identifier carrying one names nothing (so a client_id, code or token with %00 is unknown,
 * as oidc-provider then says in OAuth's terms); a model to be saved with one (a state, nonce or
 * claims request) is invalid_request, which oidc-provider answers at the client's redirect URI
 * once it has checked the client and that URI, or as its error page or JSON before.
 */
function refuseNulParameters(payload: Payload): void {
  const field = nulBytePath(payload, "request");
  // The parameter's own name (state, nonce, login_hint), not where the model keeps it.
  const parameter = field
    ?.split(".")
    .filter((name) => !/^[0-9]+$/.test(name))
    .at(-1);
  if (parameter) throw new errors.InvalidRequest(`${parameter} must not contain a NUL byte`);
}

/** Rows past their expiry are as good as gone. */
function live(table?: string) {
  const expiresAt = sql.ref(table ? `${table}.expires_at` : "expires_at");
  return sql<boolean>`(${expiresAt} is null or ${expiresAt} > now())`;
}

function withConsumed(payload: Payload, consumedAt: Date | null): Payload {
  if (consumedAt) payload.consumed = Math.floor(consumedAt.getTime() / 1000);
  return payload;
}

/** A model this request has written and not yet stored, as a read would give it back. */
function payloadOf(row: HeldRow | undefined): Payload | undefined {
  return row && (JSON.parse(row.payload) as Payload);
}

/**
 * Payloads are JSON (a JSONB column, or a client's metadata), so a JSON round trip copies them
 * exactly, in about two thirds of structuredClone's time.
 */
function copy(payload: Payload | undefined): Payload | undefined {
  return payload && (JSON.parse(JSON.stringify(payload)) as Payload);
}

/**
 * An interaction as a column of a sign-in step's own statement (the identify step reads it with
 * its throttle's count, one round trip fewer); `rememberInteraction` then keeps it for the
 * provider's read of it in the same request.
 */
export function interactionColumn(uid: string) {
  return sql<StepInteraction | null>`(SELECT json_build_object('payload', payload::text, 'consumed_at', consumed_at,
      'has_session', payload ? 'session')
    FROM oidc_models WHERE kind = 'Interaction' AND id = ${uid} AND ${live()})`;
}

type StepInteraction = { payload: string; consumed_at: string | null; has_session: boolean };

/**
 * Keeps an interaction read by `interactionColumn` (or found missing) as the provider's read of
 * it in this request. One that names a session is left to be read as usual, with its session and
 * account (`interactionLinks`).
 */
export function rememberInteraction(uid: string, row: StepInteraction | null): void {
  if (row?.has_session) return;
  const consumedAt = row?.consumed_at ? new Date(row.consumed_at) : null;
  remember(
    readKey("Interaction", "id", uid),
    row ? { payload: row.payload, consumed_at: consumedAt } : undefined,
  );
}

/**
 * Records a client assertion's jti unless it was seen before: one atomic insert, so two nodes
 * racing with the same assertion cannot both accept it.
 */
export async function firstUseOfAssertion(db: Db, id: string, expiresAt: Date): Promise<boolean> {
  // In a token request the first use is written with the rest of its writes, and checked there.
  if (holdAssertion(id, expiresAt)) return true;
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
