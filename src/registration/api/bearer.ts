import type { FastifyRequest } from "fastify";
import type Provider from "oidc-provider";
import type { Actor } from "../../audit/actor.ts";
import type { ProviderHost } from "../../cis2/host.ts";
import { DomainError } from "../../errors.ts";

/**
 * No usable CIS2 access token: HTTP 401 with a WWW-Authenticate challenge (RFC 6750). With
 * `stepUpTo`, the token is live and of the right client but its sign-in was weaker than CIM
 * requires: the challenge asks for a new sign-in at one of those classes (RFC 9470).
 */
export class UnauthenticatedError extends DomainError {
  readonly challenge: string;
  constructor(message: string, tokenGiven: boolean, stepUpTo?: readonly string[]) {
    super(stepUpTo ? "insufficient-user-authentication" : "unauthenticated", message);
    this.challenge = stepUpTo
      ? `Bearer realm="cim", error="insufficient_user_authentication", error_description="${message}", acr_values="${stepUpTo.join(" ")}"`
      : tokenGiven
        ? `Bearer realm="cim", error="invalid_token", error_description="${message}"`
        : 'Bearer realm="cim"';
  }
}

/** Which tokens the API takes: those of CIM's clients, from a sign-in at one of CIM's classes. */
export type BearerPolicy = { clients: readonly string[]; acrValues: readonly string[] };

type AccessToken = {
  accountId: string;
  clientId: string;
  grantId: string;
  jkt?: string;
  "x5t#S256"?: string;
  /** Set at issue by the provider's extraTokenClaims: the class the sign-in satisfied. */
  extra?: { acr?: unknown };
};

/**
 * The person a request acts for, from its CIS2 access token, step by step: a Bearer token, known
 * to our own provider (so an expired, revoked or unknown one is refused), not sender-constrained
 * (this API cannot check a DPoP or mTLS proof), its grant still valid for the same person and
 * client, issued to one of CIM's clients (a token another relying party holds must not carry its
 * user's RA powers here), and from a sign-in at a class CIM's pages accept.
 */
export async function actorFromBearer(
  request: FastifyRequest,
  host: ProviderHost,
  policy: BearerPolicy,
): Promise<Actor> {
  const provider = host.provider();
  const token = await liveToken(provider, bearerOf(request));
  refuseSenderConstrained(token);
  await refuseEndedGrant(provider, token);
  refuseOtherClients(token, policy.clients);
  refuseWeakSignIn(token, policy.acrValues);
  return { kind: "person", id: token.accountId, source: "API", correlationId: request.id };
}

function bearerOf(request: FastifyRequest): string {
  const header = request.headers.authorization ?? "";
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  if (!match)
    throw new UnauthenticatedError("A CIS2 access token is required (Authorization: Bearer)", header !== "");
  return match[1] as string;
}

async function liveToken(provider: Provider, value: string): Promise<AccessToken> {
  const token = (await provider.AccessToken.find(value)) as AccessToken | undefined;
  if (!token) throw new UnauthenticatedError("The access token is unknown, expired or revoked", true);
  return token;
}

function refuseSenderConstrained(token: AccessToken): void {
  if (token.jkt || token["x5t#S256"])
    throw new UnauthenticatedError("Sender-constrained tokens are not accepted here", true);
}

async function refuseEndedGrant(provider: Provider, token: AccessToken): Promise<void> {
  const grant = (await provider.Grant.find(token.grantId)) as
    | { accountId?: string; clientId?: string }
    | undefined;
  if (!grant || grant.accountId !== token.accountId || grant.clientId !== token.clientId)
    throw new UnauthenticatedError("The access token's grant has ended", true);
}

function refuseOtherClients(token: AccessToken, clients: readonly string[]): void {
  if (!clients.includes(token.clientId))
    throw new UnauthenticatedError(
      "The access token was issued to a client that may not use the Care Identity Management API",
      true,
    );
}

function refuseWeakSignIn(token: AccessToken, acrValues: readonly string[]): void {
  const acr = token.extra?.acr;
  if (typeof acr !== "string" || !acrValues.includes(acr))
    throw new UnauthenticatedError(
      `The sign-in behind this token (${typeof acr === "string" ? acr : "no acr"}) is weaker than the Care Identity Management API requires`,
      true,
      acrValues,
    );
}
