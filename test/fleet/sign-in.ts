import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { demoClientId, demoClientSecret, demoPassword } from "../../src/seed/demo-sign-in.ts";
import { Browser, formAction } from "../support/browser.ts";

/**
 * A CIS2 sign-in driven over HTTP as a browser and a relying party would (the development
 * password login of the demo), where each request can be sent to a chosen node or to the load
 * balancer: `via(step)` names the origin of the step-th request. A step answered 502, 503 or
 * 504, or not answered at all (a node killed), is sent again, as a person would reload the page
 * or press the button again; any other 5xx fails the sign-in. A sign-in sent back to the relying
 * party with `temporarily_unavailable` is begun again, as the relying party would.
 */
export type FleetSignIn = {
  issuer: string;
  identifier: string;
  via: (step: number) => string;
  /** Give up on a step after this long (the time a failover may take). */
  retrySeconds?: number;
};

export type SignedIn = {
  sub: string;
  accessToken: string;
  idToken: string;
  userinfo: Record<string, unknown>;
  /** The origins that answered each step, in order. */
  answeredBy: string[];
  retries: number;
};

const redirectUri = "http://127.0.0.1:3001/callback";
const retryable = new Set([502, 503, 504]);

/** The authorization endpoint answered `temporarily_unavailable`: the sign-in begins anew. */
class StartAgain extends Error {}

export async function fleetSignIn(options: FleetSignIn): Promise<SignedIn> {
  const deadline = Date.now() + (options.retrySeconds ?? 30) * 1000;
  let restarts = 0;
  for (;;) {
    try {
      const signedIn = await signInOnce(options);
      return { ...signedIn, retries: signedIn.retries + restarts };
    } catch (error) {
      if (!(error instanceof StartAgain) || Date.now() > deadline) throw error;
      restarts++;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

async function signInOnce(options: FleetSignIn): Promise<SignedIn> {
  const browser = new Browser();
  const answeredBy: string[] = [];
  let retries = 0;
  const at = (url: string) => {
    const target = new URL(url);
    const origin = new URL(options.via(answeredBy.length));
    target.protocol = origin.protocol;
    target.host = origin.host;
    return target.toString();
  };
  const send = async (request: (url: string) => Promise<Response>, url: string): Promise<Response> => {
    const deadline = Date.now() + (options.retrySeconds ?? 30) * 1000;
    for (;;) {
      const target = at(url);
      const response = await request(target).catch((error: Error) => error);
      if (response instanceof Response && !retryable.has(response.status)) {
        assert.ok(response.status < 500, `${target} answered ${response.status}`);
        answeredBy.push(new URL(target).origin);
        return response;
      }
      if (Date.now() > deadline)
        assert.fail(`${target}: ${response instanceof Response ? response.status : response.message}`);
      retries++;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };
  const discovery = (await (
    await send((url) => fetch(url), `${options.issuer}/.well-known/openid-configuration`)
  ).json()) as Record<string, string>;

  const verifier = randomBytes(32).toString("base64url");
  const state = randomBytes(16).toString("base64url");
  const nonce = randomBytes(16).toString("base64url");
  const authorize = new URL(discovery.authorization_endpoint as string);
  authorize.search = new URLSearchParams({
    client_id: demoClientId,
    response_type: "code",
    redirect_uri: redirectUri,
    scope: "openid profile nationalrbacaccess",
    acr_values: "AAL1_USERPASS",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
    state,
    nonce,
  }).toString();

  let url = authorize.toString();
  let response = await send((target) => browser.get(target), url);
  let code: string | undefined;
  for (let step = 0; step < 30 && !code; step++) {
    if (response.status >= 300 && response.status < 400) {
      url = new URL(response.headers.get("location") ?? "", url).toString();
      if (url.startsWith(redirectUri)) {
        const callback = new URL(url);
        assert.equal(callback.searchParams.get("state"), state);
        // The database was away at that moment (a failover): the relying party starts again.
        if (callback.searchParams.get("error") === "temporarily_unavailable") throw new StartAgain();
        assert.equal(
          callback.searchParams.get("error"),
          null,
          callback.searchParams.get("error_description") ?? "",
        );
        code = callback.searchParams.get("code") ?? undefined;
        break;
      }
      response = await send((target) => browser.get(target), url);
      continue;
    }
    const html = await response.text();
    assert.equal(response.status, 200, `${url}: ${response.status} ${html.slice(0, 300)}`);
    const action = formAction(html, url);
    const form = fill(action, html, options.identifier);
    url = action;
    response = await send((target) => browser.post(target, form), action);
  }
  assert.ok(code, "the sign-in returned an authorization code");

  const tokens = (await (
    await send(
      (target) =>
        fetch(target, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({
            grant_type: "authorization_code",
            code: code as string,
            redirect_uri: redirectUri,
            code_verifier: verifier,
            client_id: demoClientId,
            client_secret: demoClientSecret,
          }),
        }),
      discovery.token_endpoint as string,
    )
  ).json()) as Record<string, string>;
  assert.ok(tokens.access_token, `tokens: ${JSON.stringify(tokens)}`);
  const keys = createRemoteJWKSet(new URL(at(discovery.jwks_uri as string)));
  const { payload } = await jwtVerify(tokens.id_token as string, keys, {
    issuer: options.issuer,
    audience: demoClientId,
  });
  assert.equal(payload.nonce, nonce);
  const userinfo = (await (
    await send(
      (target) => fetch(target, { headers: { authorization: `Bearer ${tokens.access_token}` } }),
      discovery.userinfo_endpoint as string,
    )
  ).json()) as Record<string, unknown>;
  assert.equal(userinfo.sub, payload.sub);
  return {
    sub: String(payload.sub),
    accessToken: tokens.access_token as string,
    idToken: tokens.id_token as string,
    userinfo,
    answeredBy,
    retries,
  };
}

function fill(action: string, html: string, identifier: string): Record<string, string> {
  if (action.endsWith("/identify")) return { identifier };
  if (action.endsWith("/password")) return { password: demoPassword };
  if (action.endsWith("/method")) return { method: "pwd" };
  if (action.endsWith("/role")) {
    const role = /name="role"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="role"/.exec(html);
    return { role: role?.[1] ?? role?.[2] ?? "" };
  }
  throw new Error(`unexpected form ${action}`);
}

/** The demo's people with exactly one position: their sign-ins need no role choice. */
export async function demoPeople(origin: string): Promise<{ uuid: string; positions: unknown[] }[]> {
  const users = (await (await fetch(`${origin}/demo/users.json`)).json()) as {
    uuid: string;
    positions: unknown[];
  }[];
  return users;
}
