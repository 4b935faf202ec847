import { AsyncLocalStorage } from "node:async_hooks";
import { sql } from "kysely";
import { errors, type KoaContextWithOIDC } from "oidc-provider";
import type { Db } from "../store/database.ts";
import { orUnavailable } from "./unavailable.ts";

/**
 * A token request writes up to three things: the client assertion's `jti` (so it is never
 * accepted again), the code's consumption, and the tokens it issues. oidc-provider writes each
 * as it goes, three commits. Here they are held until the answer is ready and written in one
 * statement, one commit, each write depending on the one before: the code is consumed only if
 * the assertion was new, the tokens stored only if this request consumed the code. Two
 * exchanges of one code at once, on any nodes, meet at the code's row lock and only one consumes
 * it; the other ends as a reused code ends, its grant revoked. The reasons and the measured
 * effect are in docs/decisions.md ("One commit per token exchange").
 */
export type HeldRow = {
  kind: string;
  id: string;
  payload: string;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: Date | null;
};

type HeldWrites = {
  assertion?: { id: string; expiresAt: Date };
  consumedCode?: string;
  tokens: HeldRow[];
};

const held = new AsyncLocalStorage<HeldWrites>();

/** Holds a client assertion's first use, when the request is a token request; false otherwise. */
export function holdAssertion(id: string, expiresAt: Date): boolean {
  const writes = held.getStore();
  if (!writes) return false;
  writes.assertion = { id, expiresAt };
  return true;
}

/** Holds an authorization code's consumption, when the request is a token request. */
export function holdConsumption(kind: string, id: string): boolean {
  const writes = held.getStore();
  if (!writes || kind !== "AuthorizationCode") return false;
  writes.consumedCode = id;
  return true;
}

/** Holds an access or refresh token issued by a token request. */
export function holdToken(row: HeldRow): boolean {
  const writes = held.getStore();
  if (!writes || (row.kind !== "AccessToken" && row.kind !== "RefreshToken")) return false;
  writes.tokens.push(row);
  return true;
}

/** The token endpoint's middleware: hold its writes, then make them in one statement. */
export function oneCommitPerTokenRequest(db: Db, tokenPath: string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.path !== tokenPath || ctx.method !== "POST") return next();
    const writes: HeldWrites = { tokens: [] };
    await held.run(writes, next);
    if (!writes.assertion && !writes.consumedCode && writes.tokens.length === 0) return;
    const outcome = await orUnavailable(() => writeHeld(db, writes));
    if (!outcome.assertionNew) {
      refuse(ctx, new errors.InvalidClientAuth("client assertion tokens must only be used once"));
    } else if (!outcome.codeConsumed) {
      await revokeGrantOfReusedCode(ctx);
      refuse(ctx, new errors.InvalidGrant("authorization code already consumed"));
    }
  };
}

async function writeHeld(db: Db, writes: HeldWrites) {
  const { assertion, consumedCode, tokens } = writes;
  const steps = [];
  const conditions = [sql`true`];
  if (assertion) {
    steps.push(sql`assertion AS (
      INSERT INTO oidc_models (kind, id, payload, expires_at)
      VALUES ('ReplayDetection', ${assertion.id}, ${JSON.stringify({ jti: assertion.id })}, ${assertion.expiresAt})
      ON CONFLICT (kind, id) DO UPDATE SET expires_at = excluded.expires_at
        WHERE oidc_models.expires_at <= now()
      RETURNING 1)`);
    conditions.push(sql`EXISTS (SELECT FROM assertion)`);
  }
  if (consumedCode) {
    steps.push(sql`code AS (
      UPDATE oidc_models SET consumed_at = now()
      WHERE kind = 'AuthorizationCode' AND id = ${consumedCode} AND consumed_at IS NULL
        AND ${sql.join(conditions, sql` AND `)}
      RETURNING 1)`);
    conditions.push(sql`EXISTS (SELECT FROM code)`);
  }
  tokens.forEach((token, index) => {
    steps.push(sql`${sql.raw(`token${index}`)} AS (
      INSERT INTO oidc_models (kind, id, payload, grant_id, user_code, uid, expires_at)
      SELECT ${token.kind}, ${token.id}, ${token.payload}::jsonb, ${token.grant_id}, ${token.user_code},
        ${token.uid}, ${token.expires_at}::timestamptz
      WHERE ${sql.join(conditions, sql` AND `)}
      ON CONFLICT (kind, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
        user_code = excluded.user_code, uid = excluded.uid, expires_at = excluded.expires_at
      RETURNING 1)`);
  });
  const { rows } = await sql<{ assertion_new: boolean; code_consumed: boolean }>`
    WITH ${sql.join(steps)}
    SELECT ${assertion ? sql`EXISTS (SELECT FROM assertion)` : sql`true`} AS assertion_new,
      ${consumedCode ? sql`EXISTS (SELECT FROM code)` : sql`true`} AS code_consumed`.execute(db);
  const [outcome] = rows;
  return { assertionNew: outcome?.assertion_new === true, codeConsumed: outcome?.code_consumed === true };
}

/** As oidc-provider does for a code used twice: whatever the code's grant issued is revoked. */
async function revokeGrantOfReusedCode(ctx: KoaContextWithOIDC): Promise<void> {
  const grantId = (ctx.oidc?.entities?.AuthorizationCode as { grantId?: string } | undefined)?.grantId;
  if (!grantId) return;
  const { provider } = ctx.oidc;
  await Promise.all([
    provider.AccessToken.revokeByGrantId(grantId),
    provider.RefreshToken.revokeByGrantId(grantId),
    provider.AuthorizationCode.revokeByGrantId(grantId),
    provider.Grant.adapter.destroy(grantId),
  ]);
}

/** Answered as oidc-provider answers the same error, since the tokens it made are not given. */
function refuse(ctx: KoaContextWithOIDC, error: InstanceType<typeof errors.OIDCProviderError>): void {
  ctx.status = error.statusCode;
  ctx.body = { error: error.error, error_description: error.error_description };
}
