import { createHash } from "node:crypto";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  jwtVerify,
} from "jose";
import type { ClientMetadata } from "../cis2/clients.ts";
import { DomainError, Problems } from "../errors.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import type { SignatureRequestItem } from "../store/schema.ts";

/**
 * The signature request a prescribing application posts to `POST /signaturerequest`: a JWT signed
 * RS512 with a key the client registered (its jwks or jwks_uri), `iss` the client id, `sub` the
 * prescriber's UUID, `exp` at most ten minutes ahead, and `payloads`: 1 to 250 `{id, payload}`,
 * each payload the base64 of a canonical SignedInfo. Checks come first, each with its refusal.
 */
export const maxItems = 250;
export const maxLifetimeSeconds = 600;
const maxPayloadBytes = 16 * 1024;

export type SignatureRequestClaims = {
  clientId: string;
  holder: string;
  items: SignatureRequestItem[];
  expiresAt: Date;
  /** SHA-256 of the JWT: the same request posted twice is a replay. */
  requestHash: string;
};

/** Why a request token is refused: each knows its HTTP status for the problem+json answer. */
export class RequestTokenError extends DomainError {
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    super(code, message);
    this.status = status;
  }
}

export async function readRequestToken(
  token: string,
  clientOf: (clientId: string) => Promise<ClientMetadata | undefined>,
  now = new Date(),
): Promise<SignatureRequestClaims> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  let unverified: ReturnType<typeof decodeJwt>;
  try {
    header = decodeProtectedHeader(token);
    unverified = decodeJwt(token);
  } catch {
    throw new RequestTokenError(
      "invalid-request",
      400,
      "The body must be a signed JWT (compact serialisation)",
    );
  }
  if (header.alg !== "RS512")
    throw new RequestTokenError(
      "invalid-algorithm",
      400,
      `The JWT must be signed RS512, not ${String(header.alg)}`,
    );
  const clientId = typeof unverified.iss === "string" ? unverified.iss : "";
  const client = clientId ? await clientOf(clientId) : undefined;
  if (!client)
    throw new RequestTokenError("unknown-client", 401, `iss: no client is registered as "${clientId}"`);
  const keys = keySetOf(client);
  if (!keys)
    throw new RequestTokenError("unknown-client", 401, `Client ${clientId} has registered no public keys`);
  let claims: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload: claims } = await jwtVerify(token, keys, {
      algorithms: ["RS512"],
      issuer: clientId,
      requiredClaims: ["exp", "sub"],
      currentDate: now,
      clockTolerance: 0,
    }));
  } catch (error) {
    if (error instanceof errors.JWTExpired)
      throw new RequestTokenError("expired", 401, "The JWT has expired");
    if (error instanceof errors.JWTClaimValidationFailed)
      throw new RequestTokenError("invalid-request", 400, `${error.claim}: ${error.message}`);
    throw new RequestTokenError(
      "invalid-signature",
      401,
      `The JWT is not signed by a key client ${clientId} registered`,
    );
  }
  const expiresAt = new Date((claims.exp as number) * 1000);
  if (expiresAt.getTime() - now.getTime() > maxLifetimeSeconds * 1000)
    throw new RequestTokenError(
      "invalid-request",
      400,
      `exp: must be at most ${maxLifetimeSeconds / 60} minutes ahead`,
    );
  const holder = String(claims.sub);
  if (!isCareIdentifier(holder))
    throw new RequestTokenError("invalid-request", 400, "sub: must be a 12-digit Care Identity UUID");
  return {
    clientId,
    holder,
    items: readItems(claims.payloads),
    expiresAt,
    requestHash: createHash("sha256").update(token).digest("hex"),
  };
}

function keySetOf(client: ClientMetadata) {
  if (client.jwks && typeof client.jwks === "object") return createLocalJWKSet(client.jwks as JSONWebKeySet);
  if (typeof client.jwks_uri === "string") return createRemoteJWKSet(new URL(client.jwks_uri));
  return undefined;
}

function readItems(value: unknown): SignatureRequestItem[] {
  const problems = new Problems();
  if (!Array.isArray(value) || value.length === 0) {
    problems.add("payloads", `must be a list of 1 to ${maxItems} {id, payload}`);
    problems.throwIfAny();
  }
  const list = value as unknown[];
  if (list.length > maxItems) {
    problems.add("payloads", `at most ${maxItems} items in one request; this has ${list.length}`);
    problems.throwIfAny();
  }
  const seen = new Set<string>();
  list.forEach((item, index) => {
    const { id, payload } = (item ?? {}) as Record<string, unknown>;
    if (typeof id !== "string" || id.length === 0 || id.length > 100)
      problems.add(`payloads[${index}].id`, "must be a string of 1 to 100 characters");
    else if (seen.has(id)) problems.add(`payloads[${index}].id`, `${id} appears twice`);
    else seen.add(id);
    if (
      typeof payload !== "string" ||
      !/^[A-Za-z0-9+/]+={0,2}$/.test(payload) ||
      Buffer.from(payload, "base64").length > maxPayloadBytes
    )
      problems.add(`payloads[${index}].payload`, `must be base64 of at most ${maxPayloadBytes} bytes`);
  });
  problems.throwIfAny();
  return list as SignatureRequestItem[];
}
