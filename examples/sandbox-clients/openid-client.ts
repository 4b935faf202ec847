/**
 * The smallest relying party for `careid sandbox`, with openid-client (Node): discovery, the
 * authorization-code flow with PKCE, state and nonce, the code exchanged with client_secret_post,
 * and the claims shown. Run the sandbox, then:
 *
 *   node examples/sandbox-clients/openid-client.ts
 *
 * and open http://localhost:3001/. The defaults are the example client the sandbox's first
 * personas file registers; set SANDBOX_ISSUER, CLIENT_ID, CLIENT_SECRET and PORT to change them.
 * Point it at a real CIS2 issuer and nothing else changes (but use private_key_jwt there).
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import * as client from "openid-client";

export type RelyingPartySettings = {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where this app listens; the redirect URI is `${origin}/callback`. */
  port: number;
  host?: string;
  scope?: string;
  acrValues?: string;
};

/** The claims a sign-in ended with: the ID token's, and the UserInfo endpoint's. */
export type SignedIn = { idToken: Record<string, unknown>; userinfo: Record<string, unknown> };

export async function startRelyingParty(
  settings: RelyingPartySettings,
): Promise<{ origin: string; server: Server }> {
  const host = settings.host ?? "localhost";
  const origin = `http://${host}:${settings.port}`;
  const redirectUri = `${origin}/callback`;
  const scope =
    settings.scope ?? "openid profile email nhsperson nationalrbacaccess associatedorgs selectedrole";
  // The sandbox runs on plain HTTP on this machine; a real CIS2 issuer is https.
  const configuration = await client.discovery(
    new URL(settings.issuer),
    settings.clientId,
    undefined,
    client.ClientSecretPost(settings.clientSecret),
    new URL(settings.issuer).protocol === "http:" ? { execute: [client.allowInsecureRequests] } : undefined,
  );
  /** Sign-ins under way, by the browser's cookie: the PKCE verifier, state and nonce. */
  const pending = new Map<string, { verifier: string; state: string; nonce: string }>();

  const signIn = async (response: ServerResponse) => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const session = randomBytes(16).toString("base64url");
    pending.set(session, { verifier, state, nonce });
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
      ...(settings.acrValues ? { acr_values: settings.acrValues } : {}),
    });
    response.writeHead(303, {
      location: url.href,
      "set-cookie": `rp_session=${session}; Path=/; HttpOnly; SameSite=Lax`,
    });
    response.end();
  };

  const callback = async (request: IncomingMessage, response: ServerResponse) => {
    const session = /(?:^|;\s*)rp_session=([^;]+)/.exec(request.headers.cookie ?? "")?.[1] ?? "";
    const expected = pending.get(session);
    pending.delete(session);
    if (!expected) return send(response, 400, { error: "no sign-in is under way in this browser" });
    const tokens = await client.authorizationCodeGrant(configuration, new URL(request.url ?? "/", origin), {
      pkceCodeVerifier: expected.verifier,
      expectedState: expected.state,
      expectedNonce: expected.nonce,
      idTokenExpected: true,
    });
    const idToken = tokens.claims() as unknown as Record<string, unknown>;
    const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, String(idToken.sub));
    const signedIn: SignedIn = { idToken, userinfo: userinfo as Record<string, unknown> };
    return send(response, 200, signedIn);
  };

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", origin).pathname;
    const answer =
      path === "/login"
        ? signIn(response)
        : path === "/callback"
          ? callback(request, response)
          : Promise.resolve(
              send(response, 200, {
                signIn: `${origin}/login`,
                issuer: settings.issuer,
                client: settings.clientId,
              }),
            );
    answer.catch((error: Error & { error?: string; error_description?: string }) =>
      send(response, 502, {
        error: error.error ?? error.message,
        error_description: error.error_description,
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(settings.port, host, resolve));
  return { origin, server };
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  response.end(`${JSON.stringify(body, null, 2)}\n`);
}

if (import.meta.main) {
  const port = Number(process.env.PORT ?? 3001);
  const { origin } = await startRelyingParty({
    issuer:
      process.env.SANDBOX_ISSUER ??
      "http://localhost:3000/sandbox/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare",
    clientId: process.env.CLIENT_ID ?? "sandbox-example.apps.local",
    clientSecret: process.env.CLIENT_SECRET ?? "sandbox-example-secret-never-used-outside-the-sandbox",
    port,
  });
  console.log(`Sign in at ${origin}/login`);
}
