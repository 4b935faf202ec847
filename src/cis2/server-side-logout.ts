import { decodeJwt } from "jose";
import type Provider from "oidc-provider";
import type { KoaContextWithOIDC } from "oidc-provider";
import type { Actor } from "../audit/actor.ts";
import type { Db } from "../store/database.ts";
import { renderHtml } from "../web/pages.ts";
import { sendProviderPage } from "./provider-pages.ts";
import { endSessionNamedBy } from "./session-revocation.ts";

/**
 * Logout at /connect/endSession as CIS2 relying parties do it from their servers: a GET with
 * `id_token_hint` and the relying party's access token as Bearer, and no browser cookie. oidc-
 * provider's RP-initiated logout ends only the session of the browser that calls it, so without
 * a cookie it would end nothing and still say "You have signed out". This step, before the
 * provider's own, ends the session the ID token names (`sub`, `sid`) once the hint and the token
 * prove the caller is that relying party: its grants' tokens are revoked and every other relying
 * party of the session is sent a back-channel logout. Calls without a Bearer token are the
 * browser's, left to oidc-provider, except that a browser with no session to end is told so.
 */
export function serverSideLogout(provider: Provider, db: Db, endSessionPath: string) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>) => {
    if (ctx.path !== endSessionPath) return next();
    const bearer = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(ctx.get("authorization"))?.[1];
    if (!bearer) {
      await next();
      return tellNothingEnded(ctx);
    }
    const refusal = await endNamedSession(provider, db, ctx, bearer);
    if (refusal) {
      ctx.status = refusal.status;
      if (refusal.status === 401)
        ctx.set(
          "WWW-Authenticate",
          `Bearer error="invalid_token", error_description="${refusal.description}"`,
        );
      ctx.set("Cache-Control", "no-store");
      ctx.body = { error: refusal.error, error_description: refusal.description };
    }
  };
}

type Refusal = { status: 400 | 401; error: string; description: string };

async function endNamedSession(
  provider: Provider,
  db: Db,
  ctx: KoaContextWithOIDC,
  bearer: string,
): Promise<Refusal | undefined> {
  if (ctx.method !== "GET") return invalidRequest("server-side logout is a GET");
  const hint = ctx.query.id_token_hint;
  if (typeof hint !== "string") return invalidRequest("id_token_hint is required, once");
  const claims = claimsOf(hint);
  const clientId = typeof claims?.aud === "string" ? claims.aud : undefined;
  const client = clientId ? await provider.Client.find(clientId) : undefined;
  if (!claims || !client) return invalidRequest("id_token_hint is not an ID token of a registered client");
  try {
    await provider.IdToken.validate(hint, client);
  } catch {
    return invalidRequest("id_token_hint is not an ID token issued here");
  }
  const token = (await provider.AccessToken.find(bearer)) as
    | { clientId: string; accountId: string; jkt?: string; "x5t#S256"?: string }
    | undefined;
  if (!token || token.jkt || token["x5t#S256"] || token.clientId !== client.clientId)
    return {
      status: 401,
      error: "invalid_token",
      description: "the Bearer token is not a live access token of this client",
    };
  if (token.accountId !== claims.sub || typeof claims.sid !== "string")
    return invalidRequest("id_token_hint and the access token name different sessions");
  const actor: Actor = { kind: "person", id: token.accountId, source: "CIS2" };
  const ended = await endSessionNamedBy(db, actor, {
    uuid: token.accountId,
    clientId: client.clientId,
    sid: claims.sid,
  });
  sendProviderPage(
    ctx,
    ended.sessions > 0
      ? renderHtml("cis2/logged-out.njk", { pageTitle: "You have signed out", clientName: client.clientName })
      : renderHtml("cis2/nothing-ended.njk", {
          pageTitle: "There was no session to sign out of",
          detail: "The CIS2 session this ID token names had already ended. Nothing was signed out.",
        }),
  );
  return undefined;
}

function claimsOf(hint: string): ReturnType<typeof decodeJwt> | undefined {
  try {
    return decodeJwt(hint);
  } catch {
    return undefined;
  }
}

function invalidRequest(description: string): Refusal {
  return { status: 400, error: "invalid_request", description };
}

/**
 * oidc-provider answers a browser with no CIS2 session by ending that empty session and saying
 * "You have signed out". Unless the relying party asked for the user back (then the provider
 * sends them there), the browser is told instead that nothing was signed out.
 */
function tellNothingEnded(ctx: KoaContextWithOIDC): void {
  const session = ctx.oidc?.session;
  if (
    ctx.method !== "GET" ||
    ctx.status !== 200 ||
    !session ||
    session.accountId ||
    ctx.oidc.params?.post_logout_redirect_uri
  )
    return;
  sendProviderPage(
    ctx,
    renderHtml("cis2/nothing-ended.njk", {
      pageTitle: "You were not signed in",
      detail: "This browser has no Care Identity session, so nothing was signed out.",
    }),
  );
}
