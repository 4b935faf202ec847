import { createHash, hkdfSync } from "node:crypto";
import type { JWK } from "jose";
import Provider, {
  type ClientAuthMethod,
  type Configuration,
  type KoaContextWithOIDC,
  type SigningAlgorithm,
} from "oidc-provider";
import { aalOf, isMethod, supportedAcrValues } from "../assurance/methods.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { issuerIsHttps } from "../web/https.ts";
import { readAccount } from "./account-read.ts";
import { adapterFactory, firstUseOfAssertion } from "./adapter.ts";
import { oneCommitPerAuthorizationRequest } from "./authorization-writes.ts";
import { accountClaims, scopeClaims } from "./claims.ts";
import { type ClientCache, uncached } from "./client-cache.ts";
import { cookieSignatures } from "./cookie-signatures.ts";
import { dynamicRegistration, ownerMetadata } from "./dynamic-registration.ts";
import { oneCommitPerTokenRequest } from "./exchange-writes.ts";
import { firstPageInPlace } from "./first-page-in-place.ts";
import { lifetimes } from "./lifetimes.ts";
import { cis2Policy } from "./policy.ts";
import { answerLateErrors } from "./provider-errors.ts";
import { renderLoggedOut, renderLogoutConfirmation, renderProviderError } from "./provider-pages.ts";
import { serverSideLogout } from "./server-side-logout.ts";
import { orUnavailable, reportingUnavailability } from "./unavailable.ts";

/** CIS2's endpoint paths under the realm, as relying parties written for the real service expect. */
export const cis2Routes = {
  authorization: "/authorize",
  token: "/access_token",
  userinfo: "/userinfo",
  jwks: "/connect/jwk_uri",
  end_session: "/connect/endSession",
  introspection: "/introspect",
  revocation: "/token/revoke",
} as const;

export const signInPath = "/cis2/signin";

/** Where oidc-provider sends the browser for an interaction: its page. */
const interactionPath = (uid: string) => `${signInPath}/${uid}`;

/** How clients authenticate, at the token, revocation and introspection endpoints alike. */
const clientAuthMethods: ClientAuthMethod[] = [
  "private_key_jwt",
  "client_secret_post",
  "client_secret_basic",
];
const clientAuthSigningAlgValues: SigningAlgorithm[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS512",
  "ES256",
  "ES512",
];

/**
 * oidc-provider authenticates clients at revocation and introspection as at the token endpoint,
 * but lists the methods only for the token endpoint. RFC 8414 tells a client that finds no list
 * to assume client_secret_basic, and a private_key_jwt client then fails to revoke (Authlib
 * does): so every endpoint says what it accepts.
 */
const completeDiscovery = {
  claim_types_supported: ["normal"],
  revocation_endpoint_auth_methods_supported: clientAuthMethods,
  revocation_endpoint_auth_signing_alg_values_supported: clientAuthSigningAlgValues,
  introspection_endpoint_auth_methods_supported: clientAuthMethods,
  introspection_endpoint_auth_signing_alg_values_supported: clientAuthSigningAlgValues,
};

export type ProviderOptions = {
  issuer: string;
  /** Registered clients kept between requests; read every time without one. */
  clients?: ClientCache;
  db: Db;
  sealer: Sealer;
  masterKey: Buffer;
  lists: CodeLists;
  jwks: JWK[];
  developmentLogin: boolean;
  /** CAREID_TRUST_PROXY: the proxy's X-Forwarded-Proto and -For are believed. */
  trustProxy: boolean;
};

export function createProvider(options: ProviderOptions): Provider {
  const { db, lists } = options;
  const configuration: Configuration = {
    adapter: reportingUnavailability(adapterFactory(db, options.sealer, options.clients ?? uncached)),
    jwks: { keys: options.jwks },
    routes: cis2Routes,
    responseTypes: ["code"],
    scopes: ["openid", "offline_access", ...Object.keys(scopeClaims).filter((scope) => scope !== "openid")],
    claims: {
      ...Object.fromEntries(Object.entries(scopeClaims).map(([scope, claims]) => [scope, [...claims]])),
      // Claims that belong to no scope: the authentication itself, as CIS2's ID tokens carry it.
      acr: null,
      amr: null,
      auth_time: null,
      sid: null,
    },
    acrValues: supportedAcrValues(options.developmentLogin),
    clientAuthMethods,
    extraClientMetadata: { properties: [...ownerMetadata] },
    clientDefaults: {
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "private_key_jwt",
      id_token_signed_response_alg: "RS256",
      // CIS2's logout tokens name the session they end.
      backchannel_logout_session_required: true,
    },
    enabledJWA: {
      clientAuthSigningAlgValues,
      idTokenSigningAlgValues: ["RS256"],
      userinfoSigningAlgValues: ["RS256"],
    },
    // Some CIS2 relying parties send no PKCE challenge, and all clients are confidential: PKCE
    // is optional, S256 only (oidc-provider refuses plain); a code asked for with a challenge
    // needs its verifier.
    pkce: { required: () => false },
    cookies: {
      keys: cookieSignatures([cookieKey(options.masterKey)]),
      long: { signed: true },
      short: { signed: true },
    },
    discovery: completeDiscovery,
    features: {
      devInteractions: { enabled: false },
      // CIS2 has no sender-constrained tokens and our resource servers (UserInfo aside, the CIM
      // API) cannot check a DPoP proof, so DPoP is off rather than advertised (docs/decisions.md).
      dPoP: { enabled: false },
      // Pushed authorization requests work as RFC 9126 has them; a request_uri from anywhere
      // else is not fetched, as discovery's request_uri_parameter_supported: false says.
      pushedAuthorizationRequests: { enabled: true },
      ...dynamicRegistration(db),
      claimsParameter: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: renderLogoutConfirmation,
        postLogoutSuccessSource: renderLoggedOut,
      },
    },
    interactions: {
      url: (_ctx, interaction) => interactionPath(interaction.uid),
      policy: cis2Policy(db, lists, options.developmentLogin),
    },
    findAccount: async (ctx, sub, token) => {
      const session = signedInWith(ctx, token as TokenContext | undefined);
      const account = await orUnavailable(() =>
        readAccount(db, lists, sub, session.uid, { sessionIsNew: session.isNew }),
      );
      if (account?.person.status !== "active") return undefined;
      const context = { aal: session.aal, selectedRoleId: async () => account.selectedRoleId };
      return {
        accountId: sub,
        claims: async (_use, scope) =>
          (await orUnavailable(() => accountClaims(db, lists, account.person, scope, context))) as {
            sub: string;
          },
      };
    },
    loadExistingGrant: preApprovedGrant,
    extraTokenClaims: signInClassOf,
    // Refresh tokens as OpenID Connect Core 11 has them (CIS2 leaves them unspecified):
    // oidc-provider's default, a client registered for the refresh_token grant that asked for
    // offline_access with prompt=consent. Without one, tokens end with the session.
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: lifetimes.accessToken,
      AuthorizationCode: lifetimes.authorizationCode,
      IdToken: lifetimes.idToken,
      Interaction: lifetimes.interaction,
      Session: lifetimes.session,
      Grant: lifetimes.grant,
      RefreshToken: lifetimes.refreshToken,
    },
    renderError: renderProviderError,
    // oidc-provider refuses outgoing calls (jwks_uri, back-channel logout) to loopback and private
    // addresses, against SSRF. The development realm's relying parties live on localhost, so only
    // there are such calls let through.
    ...(options.developmentLogin
      ? {
          fetch: ((url: string | URL, init: RequestInit) =>
            globalThis.fetch(url, { ...init, dispatcher: undefined } as RequestInit)) as never,
        }
      : {}),
    clockTolerance: 5,
    conformIdTokenClaims: true,
  };
  const provider = new Provider(options.issuer, configuration);
  provider.ReplayDetection.unique = async (iss: string, jti: string, exp: number) =>
    firstUseOfAssertion(
      db,
      createHash("sha256").update(`${iss}${jti}`).digest("base64url"),
      new Date(exp * 1000),
    );
  markSecureRequests(provider, options);
  provider.use(firstPageInPlace(interactionPath));
  provider.use(answerLateErrors(provider));
  provider.use(cis2ErrorShapes);
  provider.use(oneCommitPerTokenRequest(db, cis2Routes.token));
  provider.use(oneCommitPerAuthorizationRequest(db, cis2Routes.authorization));
  provider.use(serverSideLogout(provider, db, cis2Routes.end_session));
  return provider;
}

/**
 * oidc-provider marks its cookies (_session, _interaction, _interaction_resume) Secure when Koa
 * sees the request as https. Behind a trusted proxy Koa reads X-Forwarded-Proto; with an https
 * issuer every request came over TLS ended in front of the node (see web/https.ts), so Koa is
 * told so whatever the last hop was.
 */
function markSecureRequests(provider: Provider, options: ProviderOptions): void {
  provider.proxy = options.trustProxy;
  if (issuerIsHttps(options.issuer))
    Object.defineProperty(provider.request, "protocol", { get: () => "https" });
}

/** Cookie signing keys must match on every node: derived from the shared master key. */
function cookieKey(masterKey: Buffer): string {
  return Buffer.from(hkdfSync("sha256", masterKey, "careid", "oidc-cookie-signing", 32)).toString(
    "base64url",
  );
}

type TokenContext = { sessionUid?: string; amr?: string[] };

/** The session a token (or the request) belongs to, and the assurance of its authenticator. */
function signedInWith(ctx: KoaContextWithOIDC, token: TokenContext | undefined) {
  const method = token?.amr?.[0] ?? ctx.oidc?.session?.amr?.[0];
  return {
    uid: token?.sessionUid ?? ctx.oidc?.session?.uid,
    // Made in this request (by the resume after a login): nothing is yet stored against it.
    isNew: !token && (ctx.oidc?.session as { new?: boolean } | undefined)?.new === true,
    aal: isMethod(method) ? aalOf(method) : undefined,
  };
}

/**
 * An access token remembers the class its sign-in satisfied (`acr`), so a resource server of ours
 * (the CIM API) can ask for a stronger sign-in (RFC 9470) without the session, which may since
 * have changed or ended. Introspection shows it too.
 */
async function signInClassOf(ctx: KoaContextWithOIDC) {
  const { AuthorizationCode: code, RefreshToken: refresh } = ctx.oidc?.entities ?? {};
  const acr = (code as { acr?: string } | undefined)?.acr ?? (refresh as { acr?: string } | undefined)?.acr;
  return acr ? { acr } : undefined;
}

/**
 * CIS2 has no consent screen: a registered client is approved for the scopes it may ask for,
 * so the grant is made (or widened) to cover what this request asks.
 */
async function preApprovedGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const client = oidc.client;
  const accountId = oidc.session?.accountId;
  if (!client || !accountId) return undefined;
  const existingId = oidc.result?.consent?.grantId || oidc.session?.grantIdFor(client.clientId);
  const existing = existingId ? await oidc.provider.Grant.find(existingId) : undefined;
  const grant =
    existing?.accountId === accountId
      ? existing
      : new oidc.provider.Grant({ clientId: client.clientId, accountId });
  alwaysInIdToken(ctx);
  const scope = [...(oidc.requestParamScopes ?? [])].join(" ");
  if (scope) grant.addOIDCScope(scope);
  const claims = new Set(oidc.requestParamClaims ?? []);
  if (oidc.requestParamScopes.has("selectedrole")) claims.add("selected_roleid");
  if (claims.size > 0) grant.addOIDCClaims([...claims]);
  await grant.save();
  return grant;
}

/**
 * CIS2's ID tokens always carry auth_time, amr and sid, and selected_roleid with scope
 * selectedrole; oidc-provider includes them only when asked, so every request asks.
 */
function alwaysInIdToken(ctx: KoaContextWithOIDC): void {
  const oidc = ctx.oidc as unknown as {
    claims?: { id_token?: Record<string, unknown> };
    requestParamScopes: Set<string>;
  };
  oidc.claims ??= {};
  oidc.claims.id_token = { auth_time: { essential: true }, amr: null, sid: null, ...oidc.claims.id_token };
  if (oidc.requestParamScopes.has("selectedrole")) oidc.claims.id_token.selected_roleid ??= null;
}

/**
 * CIS2 answers a failed client assertion with "JWT is not valid"; oidc-provider's description
 * differs, so it is reshaped here, in one place.
 */
async function cis2ErrorShapes(ctx: KoaContextWithOIDC, next: () => Promise<void>) {
  await next();
  const body = ctx.body as { error?: string; error_description?: string } | undefined;
  if (
    ctx.path === cis2Routes.token &&
    body?.error === "invalid_client" &&
    ctx.oidc?.params?.client_assertion
  ) {
    body.error_description = "JWT is not valid";
  }
}
