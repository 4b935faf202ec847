import { randomBytes } from "node:crypto";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, ForbiddenError, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { positionsOfPerson } from "../rbac/positions.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { type Environment, environments } from "./client-rules.ts";
import { announceChange, type ClientMetadata, checkClient, removeClient, storeClient } from "./clients.ts";
import { nationalClientId, relyingPartyPolicy } from "./dynamic-registration.ts";

/**
 * Relying parties registered by their suppliers: a person holding a position that carries the
 * relying-party administrator activity registers and manages their organisation's clients; a
 * production client is served only after a service administrator (someone else) approved it.
 */
export type RelyingPartySettings = {
  /** The activity code that makes a position's holder a relying-party administrator there. */
  administratorActivity: string;
  /** The activity code of the service administrators who approve production clients. */
  approverActivity: string;
};

export type Onboarding = {
  queryable: Queryable;
  lists: CodeLists;
  sealer: Sealer;
  settings: RelyingPartySettings;
  /** oidc-provider's own check of the metadata. */
  validate: (metadata: ClientMetadata) => Promise<void>;
};

export type NewRelyingParty = {
  organisationCode: string;
  environment: string;
  name: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  backchannelLogoutUri?: string;
  authMethod: string;
  jwksUri?: string;
  /** Pasted JWKS, as text. */
  jwks?: string;
  scopes: string[];
  defaultAcr: string;
};

export type RelyingParty = {
  clientId: string;
  name: string;
  organisationCode: string;
  environment: Environment;
  awaitingApproval: boolean;
  registeredBy: string | null;
  approvedBy: string | null;
  metadata: ClientMetadata;
};

/** How long an initial access token lets a pipeline register clients. */
const registrationTokenHours = 24;

/** The organisations where a person holds a current position carrying the activity. */
export async function organisationsWithActivity(
  queryable: Queryable,
  lists: CodeLists,
  uuid: string,
  activity: string,
): Promise<string[]> {
  const positions = await positionsOfPerson(queryable, lists, uuid);
  const places = positions
    .filter((position) => position.activities.some((carried) => carried.code === activity))
    .map((position) => position.odsCode);
  return [...new Set(places)].sort();
}

/** Where an actor holds the activity: only people hold positions. */
async function placesOf(
  queryable: Queryable,
  onboarding: Onboarding,
  actor: Actor,
  activity: string,
): Promise<string[]> {
  return actor.kind === "person"
    ? organisationsWithActivity(queryable, onboarding.lists, actor.id, activity)
    : [];
}

async function requireAdministrator(
  tx: Queryable,
  onboarding: Onboarding,
  actor: Actor,
  organisationCode: string,
) {
  const places = await placesOf(tx, onboarding, actor, onboarding.settings.administratorActivity);
  if (!places.includes(organisationCode))
    throw new ForbiddenError(
      `Only a relying-party administrator of ${organisationCode} may manage its clients (a position there with activity ${onboarding.settings.administratorActivity})`,
    );
}

/** The form's answers as RFC 7591 metadata; problems named by the form's fields. */
function metadataOf(input: NewRelyingParty, clientId: string): ClientMetadata {
  const problems = new Problems();
  if (!input.name.trim()) problems.add("name", "is required");
  if (input.name.length > 100) problems.add("name", "must be at most 100 characters");
  if (!environments.includes(input.environment as Environment))
    problems.add("environment", "must be development or production");
  if (!["private_key_jwt", "client_secret_post"].includes(input.authMethod))
    problems.add("authMethod", "must be private_key_jwt or client_secret_post");
  let jwks: unknown;
  if (input.authMethod === "private_key_jwt" && input.jwks?.trim()) {
    try {
      jwks = JSON.parse(input.jwks);
    } catch {
      problems.add("jwks", "must be a JSON Web Key Set, as JSON");
    }
  }
  if (!input.scopes.includes("openid")) problems.add("scopes", "must include openid");
  problems.throwIfAny();
  const keys =
    input.authMethod !== "private_key_jwt"
      ? {}
      : jwks !== undefined
        ? { jwks }
        : input.jwksUri?.trim()
          ? { jwks_uri: input.jwksUri.trim() }
          : {};
  return {
    client_id: clientId,
    client_name: input.name.trim(),
    redirect_uris: input.redirectUris,
    ...(input.postLogoutRedirectUris.length > 0
      ? { post_logout_redirect_uris: input.postLogoutRedirectUris }
      : {}),
    ...(input.backchannelLogoutUri ? { backchannel_logout_uri: input.backchannelLogoutUri } : {}),
    token_endpoint_auth_method: input.authMethod,
    ...keys,
    ...(input.authMethod === "client_secret_post"
      ? { client_secret: randomBytes(32).toString("base64url") }
      : {}),
    scope: input.scopes.join(" "),
    default_acr_values: [input.defaultAcr],
    grant_types: ["authorization_code"],
  };
}

/**
 * Registers a client for the administrator's organisation. A client secret is returned this
 * once and stored sealed. A production client waits for a service administrator's approval.
 */
export async function registerRelyingParty(
  onboarding: Onboarding,
  actor: Actor,
  input: NewRelyingParty,
): Promise<{ client: ClientMetadata; secret?: string; awaitingApproval: boolean }> {
  // Before anything is fetched from the given addresses: only administrators get that far.
  await requireAdministrator(onboarding.queryable, onboarding, actor, input.organisationCode);
  const environment = input.environment as Environment;
  const metadata = await checkClient(
    metadataOf(input, nationalClientId()),
    { environment, clientIdForm: "national" },
    onboarding.validate,
  );
  const awaitingApproval = environment === "production";
  const client = await inTransaction(onboarding.queryable, async (tx) => {
    await requireAdministrator(tx, onboarding, actor, input.organisationCode);
    return storeClient(
      tx,
      actor,
      onboarding.sealer,
      metadata,
      { environment, organisationCode: input.organisationCode, registeredBy: actor.id, awaitingApproval },
      "client.registered",
    );
  });
  return { client, secret: metadata.client_secret, awaitingApproval };
}

export async function relyingPartiesOf(
  queryable: Queryable,
  organisationCodes: string[],
): Promise<RelyingParty[]> {
  if (organisationCodes.length === 0) return [];
  const rows = await selectRelyingParties(queryable)
    .where("organisation_code", "in", organisationCodes)
    .orderBy("client_id")
    .execute();
  return rows.map(relyingPartyFrom);
}

export async function relyingPartiesAwaitingApproval(queryable: Queryable): Promise<RelyingParty[]> {
  const rows = await selectRelyingParties(queryable)
    .where("awaiting_approval", "=", true)
    .orderBy("created_at")
    .execute();
  return rows.map(relyingPartyFrom);
}

function selectRelyingParties(queryable: Queryable) {
  return queryable
    .selectFrom("oidc_clients")
    .select([
      "client_id",
      "metadata",
      "organisation_code",
      "environment",
      "awaiting_approval",
      "registered_by",
      "approved_by",
    ])
    .where("organisation_code", "is not", null);
}

function relyingPartyFrom(row: {
  client_id: string;
  metadata: Record<string, unknown>;
  organisation_code: string | null;
  environment: Environment | null;
  awaiting_approval: boolean;
  registered_by: string | null;
  approved_by: string | null;
}): RelyingParty {
  const metadata = row.metadata as ClientMetadata;
  return {
    clientId: row.client_id,
    name: String(metadata.client_name ?? row.client_id),
    organisationCode: row.organisation_code ?? "",
    environment: row.environment ?? "production",
    awaitingApproval: row.awaiting_approval,
    registeredBy: row.registered_by,
    approvedBy: row.approved_by,
    metadata,
  };
}

async function findRelyingParty(tx: Tx, clientId: string): Promise<RelyingParty> {
  const row = await selectRelyingParties(tx).where("client_id", "=", clientId).forUpdate().executeTakeFirst();
  if (!row) throw new NotFoundError("client", `No supplier-registered client has client_id ${clientId}`);
  return relyingPartyFrom(row);
}

/**
 * A service administrator approves a production client: four eyes, so never the person who
 * registered it. Until then the provider does not know the client.
 */
export async function approveRelyingParty(
  onboarding: Onboarding,
  actor: Actor,
  clientId: string,
): Promise<void> {
  await inTransaction(onboarding.queryable, async (tx) => {
    const approverAt = await placesOf(tx, onboarding, actor, onboarding.settings.approverActivity);
    if (approverAt.length === 0)
      throw new ForbiddenError(
        `Only a service administrator (a position with activity ${onboarding.settings.approverActivity}) may approve a production client`,
      );
    const party = await findRelyingParty(tx, clientId);
    if (!party.awaitingApproval)
      throw new ConflictError(`client_id: ${clientId} is not awaiting approval`, "clientId");
    if (party.registeredBy === actor.id)
      throw new ForbiddenError("You registered this client: another service administrator must approve it");
    await tx
      .updateTable("oidc_clients")
      .set({ awaiting_approval: false, approved_by: actor.id, updated_at: new Date() })
      .where("client_id", "=", clientId)
      .execute();
    await announceChange(tx, clientId);
    await recordEvent(tx, actor, {
      action: "client.approved",
      subject: { type: "client", id: clientId },
      before: { awaiting_approval: true },
      after: {
        awaiting_approval: false,
        environment: party.environment,
        organisation: party.organisationCode,
      },
    });
  });
}

/** An administrator removes one of their organisation's clients; its tokens stop at once. */
export async function removeRelyingParty(
  onboarding: Onboarding,
  actor: Actor,
  clientId: string,
): Promise<void> {
  await inTransaction(onboarding.queryable, async (tx) => {
    const party = await findRelyingParty(tx, clientId);
    await requireAdministrator(tx, onboarding, actor, party.organisationCode);
    await removeClient(tx, actor, clientId);
  });
}

/**
 * An initial access token (RFC 7591) with which the organisation's pipeline registers its own
 * development clients. Shown once; the audit log records that it was issued, never its value.
 * Production clients are registered on the pages, where they wait for approval.
 */
export async function issueRegistrationToken(
  onboarding: Onboarding,
  actor: Actor,
  organisationCode: string,
): Promise<{ token: string; expiresAt: Date }> {
  if (!organisationCode) throw InvalidInputError.field("organisationCode", "is required");
  return inTransaction(onboarding.queryable, async (tx) => {
    await requireAdministrator(tx, onboarding, actor, organisationCode);
    const token = randomBytes(32).toString("base64url");
    const issuedAt = Math.floor(Date.now() / 1000);
    const expiresAt = new Date((issuedAt + registrationTokenHours * 3600) * 1000);
    // oidc-provider's InitialAccessToken, opaque: its value is its id (see its formats/opaque.js).
    await tx
      .insertInto("oidc_models")
      .values({
        kind: "InitialAccessToken",
        id: token,
        payload: JSON.stringify({
          iat: issuedAt,
          exp: Math.floor(expiresAt.getTime() / 1000),
          jti: token,
          kind: "InitialAccessToken",
          policies: [relyingPartyPolicy],
        }),
        expires_at: expiresAt,
      })
      .execute();
    await tx
      .insertInto("client_registration_tokens")
      .values({
        token_id: token,
        organisation_code: organisationCode,
        environment: "development",
        issued_by: actor.id,
        expires_at: expiresAt,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "client.registration-token-issued",
      subject: { type: "organisation", id: organisationCode },
      after: { environment: "development", expires_at: expiresAt.toISOString() },
    });
    return { token, expiresAt };
  });
}
