import { importJWK } from "jose";
import * as client from "openid-client";
import { DomainError } from "../../errors.ts";
import type { UpstreamProviderWithCredential } from "./providers.ts";

/** Where the upstream sends the browser back, and the root of its back-channel logout URIs. */
export const federationPath = "/authenticators/federation";
export const callbackPath = `${federationPath}/callback`;

/**
 * The upstream side of NHS.net Connect, by openid-client: discovery from the provider's
 * `.well-known/openid-configuration`, the authorization-code flow with PKCE (S256), state and
 * nonce, and the ID token's signature, `iss`, `aud`, `exp` and `nonce` checked by the library.
 * What openid-client does not know (the tenant, the allowed email domains, the claim that names
 * the account) is checked here. Nothing here knows about people or links.
 */

/** What a sign-in remembers between sending the browser upstream and its return. */
export type UpstreamPending = {
  providerId: string;
  verifier: string;
  state: string;
  nonce: string;
  until: number;
};

/** The upstream account an ID token named, once every check passed. */
export type UpstreamIdentity = {
  providerId: string;
  /** The value of the provider's identifying claim (e.g. `oid`). */
  subject: string;
  email: string | undefined;
  tenantId: string | undefined;
  /** The upstream `sub` and session (`sid`), for its back-channel logout. */
  upstreamSub: string;
  sid: string | undefined;
};

export type UpstreamRefusal =
  | "upstream-error"
  | "invalid-id-token"
  | "wrong-tenant"
  | "domain-not-allowed"
  | "missing-claim"
  | "took-too-long";

/** A refused upstream sign-in, with the words its user reads; `detail` is for the audit log only. */
export class UpstreamRefusedError extends DomainError {
  readonly reason: UpstreamRefusal;
  readonly detail: string;
  constructor(reason: UpstreamRefusal, detail: string) {
    super(
      "upstream-refused",
      {
        "upstream-error": "Your organisation's sign-in did not complete. Try again.",
        "invalid-id-token":
          "Your organisation's sign-in could not be checked. Try again, or use another way to sign in.",
        "wrong-tenant": "This account belongs to an organisation this service does not accept.",
        "domain-not-allowed": "This account's email address is not one NHS.net Connect accepts here.",
        "missing-claim": "Your organisation's sign-in did not say who you are. Ask your IT service desk.",
        "took-too-long": "This sign-in took too long. Start again.",
      }[reason],
    );
    this.reason = reason;
    this.detail = detail;
  }
}

const configurations = new Map<string, Promise<client.Configuration>>();

/** The provider's discovered configuration, kept per provider and credential until it fails. */
function configurationOf(provider: UpstreamProviderWithCredential): Promise<client.Configuration> {
  const key = `${provider.id}|${provider.issuer}|${provider.clientId}|${provider.clientSecret ?? JSON.stringify(provider.privateKeyJwk)}`;
  let configuration = configurations.get(key);
  if (!configuration) {
    configuration = (async () =>
      client.discovery(
        new URL(provider.issuer),
        provider.clientId,
        undefined,
        await authenticationOf(provider),
        {
          // Only an upstream on this machine (a test's) is plain HTTP; parseUpstreamProvider refuses others.
          execute: provider.issuer.startsWith("http:") ? [client.allowInsecureRequests] : [],
        },
      ))();
    configuration.catch(() => configurations.delete(key));
    configurations.set(key, configuration);
  }
  return configuration;
}

async function authenticationOf(provider: UpstreamProviderWithCredential): Promise<client.ClientAuth> {
  if (provider.authMethod === "private_key_jwt") {
    const jwk = provider.privateKeyJwk ?? {};
    const algorithm = typeof jwk.alg === "string" ? jwk.alg : jwk.kty === "EC" ? "ES256" : "RS256";
    const key = (await importJWK(jwk, algorithm)) as client.CryptoKey;
    return client.PrivateKeyJwt({ key, kid: typeof jwk.kid === "string" ? jwk.kid : undefined });
  }
  return provider.authMethod === "client_secret_basic"
    ? client.ClientSecretBasic(provider.clientSecret)
    : client.ClientSecretPost(provider.clientSecret);
}

/** Where to send the browser upstream, and what to remember until it returns. */
export async function startUpstreamSignIn(
  provider: UpstreamProviderWithCredential,
  callbackUrl: string,
  loginHint?: string,
): Promise<{ url: URL; pending: UpstreamPending }> {
  const configuration = await configurationOf(provider);
  const pending: UpstreamPending = {
    providerId: provider.id,
    verifier: client.randomPKCECodeVerifier(),
    state: client.randomState(),
    nonce: client.randomNonce(),
    until: Date.now() + 10 * 60_000,
  };
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: callbackUrl,
    scope: provider.scopes,
    // A fresh upstream sign-in each time: the result becomes a CIS2 authentication.
    prompt: "login",
    code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
    code_challenge_method: "S256",
    state: pending.state,
    nonce: pending.nonce,
    ...(loginHint ? { login_hint: loginHint } : {}),
  });
  return { url, pending };
}

/** Redeems the code the browser brought back and checks everything the ID token says. */
export async function finishUpstreamSignIn(
  provider: UpstreamProviderWithCredential,
  returned: URL,
  pending: UpstreamPending,
): Promise<UpstreamIdentity> {
  if (pending.providerId !== provider.id || !(pending.until >= Date.now()))
    throw new UpstreamRefusedError("took-too-long", "the pending upstream sign-in expired");
  let claims: client.IDToken | undefined;
  try {
    const tokens = await client.authorizationCodeGrant(await configurationOf(provider), returned, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
    });
    claims = tokens.claims();
  } catch (error) {
    if (error instanceof client.AuthorizationResponseError || error instanceof client.ResponseBodyError)
      throw new UpstreamRefusedError("upstream-error", `${error.error}: ${error.error_description ?? ""}`);
    if (error instanceof client.ClientError)
      throw new UpstreamRefusedError("invalid-id-token", `${error.code ?? "client-error"}: ${error.message}`);
    throw error;
  }
  if (!claims) throw new UpstreamRefusedError("invalid-id-token", "no ID token");
  const tenantId = typeof claims.tid === "string" ? claims.tid : undefined;
  if (provider.tenantId && tenantId !== provider.tenantId)
    throw new UpstreamRefusedError(
      "wrong-tenant",
      `tid ${tenantId ?? "absent"}, expected ${provider.tenantId}`,
    );
  const subject = claims[provider.identifyingClaim];
  if (typeof subject !== "string" || subject === "")
    throw new UpstreamRefusedError("missing-claim", `no ${provider.identifyingClaim} claim`);
  const email = emailOf(claims);
  const domain = email?.split("@")[1];
  if (provider.allowedDomains.length > 0 && (!domain || !provider.allowedDomains.includes(domain)))
    throw new UpstreamRefusedError("domain-not-allowed", `email domain ${domain ?? "absent"}`);
  return {
    providerId: provider.id,
    subject: provider.identifyingClaim === "email" ? subject.toLowerCase() : subject,
    email,
    tenantId,
    upstreamSub: claims.sub,
    sid: typeof claims.sid === "string" ? claims.sid : undefined,
  };
}

/** Entra ID puts the sign-in name in `preferred_username`; `email` is optional there. */
function emailOf(claims: client.IDToken): string | undefined {
  const value = [claims.email, claims.preferred_username].find(
    (candidate): candidate is string => typeof candidate === "string" && candidate.includes("@"),
  );
  return value?.toLowerCase();
}

/** The provider's JWKS URI, for verifying its back-channel logout tokens. */
export async function upstreamJwksUri(provider: UpstreamProviderWithCredential): Promise<string> {
  const uri = (await configurationOf(provider)).serverMetadata().jwks_uri;
  if (!uri) throw new UpstreamRefusedError("upstream-error", "the provider publishes no jwks_uri");
  return uri;
}
