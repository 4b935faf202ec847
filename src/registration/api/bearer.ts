import type { FastifyRequest } from "fastify";
import type { Actor } from "../../audit/actor.ts";
import type { ProviderHost } from "../../cis2/host.ts";
import { DomainError } from "../../errors.ts";

/** No usable CIS2 access token: HTTP 401 with a WWW-Authenticate challenge. */
export class UnauthenticatedError extends DomainError {
  readonly challenge: string;
  constructor(message: string, tokenGiven: boolean) {
    super("unauthenticated", message);
    this.challenge = tokenGiven
      ? `Bearer realm="cim", error="invalid_token", error_description="${message}"`
      : 'Bearer realm="cim"';
  }
}

type AccessToken = {
  accountId: string;
  clientId: string;
  grantId: string;
  jkt?: string;
  "x5t#S256"?: string;
};

/**
 * The person a request acts for, from its CIS2 access token: found through our own provider (so
 * an expired, revoked or unknown token is refused), with its grant still valid and for the same
 * person and client. Sender-constrained tokens (DPoP, mTLS) are refused: this API cannot check
 * their proof.
 */
export async function actorFromBearer(request: FastifyRequest, host: ProviderHost): Promise<Actor> {
  const header = request.headers.authorization ?? "";
  const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/i.exec(header);
  if (!match)
    throw new UnauthenticatedError("A CIS2 access token is required (Authorization: Bearer)", header !== "");
  const provider = host.provider();
  const token = (await provider.AccessToken.find(match[1] as string)) as AccessToken | undefined;
  if (!token) throw new UnauthenticatedError("The access token is unknown, expired or revoked", true);
  if (token.jkt || token["x5t#S256"])
    throw new UnauthenticatedError("Sender-constrained tokens are not accepted here", true);
  const grant = (await provider.Grant.find(token.grantId)) as
    | { accountId?: string; clientId?: string }
    | undefined;
  if (!grant || grant.accountId !== token.accountId || grant.clientId !== token.clientId)
    throw new UnauthenticatedError("The access token's grant has ended", true);
  return { kind: "person", id: token.accountId, source: "API", correlationId: request.id };
}
