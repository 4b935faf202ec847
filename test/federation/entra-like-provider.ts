/**
 * A second, independent OpenID provider for NHS.net Connect tests, run as its own process by
 * upstream.ts: oidc-provider with a small configuration shaped like Microsoft Entra ID (issuer
 * http://127.0.0.1:PORT/TENANT/v2.0, ID tokens with `oid`, `tid`, `preferred_username`, back-channel
 * logout). Its sign-in page takes an email address: the account is whoever that names.
 *
 * For the bad-token tests it has one control endpoint, POST /_test/tamper with JSON claims: the
 * next ID token it issues has those claims changed and is signed again with its own key, so the
 * signature is good and only the claims are wrong, as with a misconfigured or hostile upstream.
 *
 * Settings come from the environment: UPSTREAM_TENANT, UPSTREAM_CLIENT_ID, UPSTREAM_CLIENT_SECRET,
 * UPSTREAM_REDIRECT_URI, UPSTREAM_BACKCHANNEL_URI. It prints "listening PORT" once ready.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import Provider from "oidc-provider";

const tenant = process.env.UPSTREAM_TENANT ?? "9188040d-6c67-4c5b-b112-36a304b66dad";
const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: "entra-like-1", use: "sig", alg: "RS256" };
void publicKey;
let tamper: Record<string, unknown> | undefined;

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;
const prefix = `/${tenant}/v2.0`;
const issuer = `http://127.0.0.1:${port}${prefix}`;

/** Entra ID's object id: stable per account; here derived from the address typed in. */
function objectIdOf(login: string): string {
  const hex = createHash("sha256").update(login.toLowerCase()).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: String(process.env.UPSTREAM_CLIENT_ID),
      client_secret: String(process.env.UPSTREAM_CLIENT_SECRET),
      token_endpoint_auth_method: "client_secret_post",
      redirect_uris: [String(process.env.UPSTREAM_REDIRECT_URI)],
      backchannel_logout_uri: process.env.UPSTREAM_BACKCHANNEL_URI,
      backchannel_logout_session_required: true,
      grant_types: ["authorization_code"],
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  scopes: ["openid", "profile", "email", "offline_access"],
  claims: { openid: ["sub", "oid", "tid"], profile: ["name", "preferred_username"], email: ["email"] },
  conformIdTokenClaims: false,
  // Names of its own, so a browser holding CIS2's cookies on the same host keeps both apart.
  cookies: {
    keys: ["an-upstream-cookie-key-for-tests"],
    names: { session: "upstream_session", interaction: "upstream_interaction", resume: "upstream_resume" },
  },
  features: { devInteractions: { enabled: false }, backchannelLogout: { enabled: true } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  // Like a tenant whose admin consented for everyone: no consent screen.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client?.clientId,
      accountId: ctx.oidc.session?.accountId,
    });
    grant.addOIDCScope("openid profile email");
    await grant.save();
    return grant;
  },
  findAccount: (_ctx, id) => ({
    accountId: id,
    claims: () => ({
      sub: `pairwise-${objectIdOf(id).slice(0, 13)}`,
      oid: objectIdOf(id),
      tid: tenant,
      preferred_username: id,
      email: id,
      name: id.split("@")[0],
    }),
  }),
});
provider.proxy = false;

// The tamper switch: re-signs the next ID token with changed claims.
provider.use(async (ctx, next) => {
  await next();
  const body = ctx.body as { id_token?: string } | undefined;
  if (ctx.path === "/token" && tamper && body?.id_token) {
    const claims = { ...decodeJwt(body.id_token), ...tamper };
    tamper = undefined;
    body.id_token = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid: jwk.kid })
      .sign(privateKey);
  }
});

async function formOf(request: IncomingMessage): Promise<URLSearchParams> {
  let text = "";
  for await (const chunk of request) text += chunk;
  return new URLSearchParams(text);
}

const callback = provider.callback();
server.on("request", async (request, response) => {
  const url = new URL(request.url ?? "/", issuer);
  try {
    if (url.pathname === "/_test/tamper" && request.method === "POST") {
      let text = "";
      for await (const chunk of request) text += chunk;
      tamper = JSON.parse(text);
      response.writeHead(204).end();
      return;
    }
    if (url.pathname.startsWith("/interaction/")) {
      const details = await provider.interactionDetails(request, response);
      if (request.method === "GET") {
        response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        response.end(
          `<!doctype html><html lang="en"><head><title>Sign in to your account</title></head><body><main><h1>Sign in to your account</h1>
<form method="post" action="/interaction/${details.uid}"><label for="login">Email address</label>
<input id="login" name="login" type="email"><button type="submit">Sign in</button></form></main></body></html>`,
        );
        return;
      }
      const login = (await formOf(request)).get("login")?.trim() ?? "";
      await provider.interactionFinished(
        request,
        response,
        { login: { accountId: login } },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    if (url.pathname === prefix || url.pathname.startsWith(`${prefix}/`)) {
      const raw = request as IncomingMessage & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = raw.url?.slice(prefix.length) || "/";
      callback(raw, response);
      return;
    }
    response.writeHead(404).end();
  } catch (error) {
    response.writeHead(500, { "content-type": "text/plain" }).end(String(error));
  }
});
console.log(`listening ${port}`);
