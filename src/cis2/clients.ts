import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError, Problems } from "../errors.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { type Db, inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { clientsChannel } from "./client-cache.ts";
import {
  type ClientIdForm,
  checkRelyingPartyRules,
  type Environment,
  type JwksFetcher,
} from "./client-rules.ts";

/**
 * The registry of relying parties. Metadata uses RFC 7591 names; the client secret, when there
 * is one, is sealed apart from the metadata and never shown again after registration.
 */
export type ClientMetadata = Record<string, unknown> & { client_id: string; client_secret?: string };

const authMethods = ["private_key_jwt", "client_secret_post", "client_secret_basic"];

/**
 * The combinations CIS2 allows that are not already rules of onboarding (client-rules.ts): an
 * object, a known authentication method, a long enough secret.
 */
export function checkClientMetadata(input: unknown): ClientMetadata {
  const problems = new Problems();
  if (typeof input !== "object" || input === null || Array.isArray(input)) {
    throw InvalidInputError.field("client", "must be a JSON object of client metadata");
  }
  const { environment: _environment, ...metadata } = input as Record<string, unknown>;
  const method = metadata.token_endpoint_auth_method ?? "private_key_jwt";
  if (typeof method !== "string" || !authMethods.includes(method)) {
    problems.add("token_endpoint_auth_method", `must be one of ${authMethods.join(", ")}`);
  }
  if (
    method !== "private_key_jwt" &&
    (typeof metadata.client_secret !== "string" || metadata.client_secret.length < 32)
  ) {
    problems.add("client_secret", "must be at least 32 characters for client_secret_post");
  }
  problems.throwIfAny();
  metadata.token_endpoint_auth_method = method;
  metadata.response_types = ["code"];
  metadata.grant_types ??= ["authorization_code"];
  return metadata as ClientMetadata;
}

/** Where a client came from and what it is for, beside its metadata. */
export type ClientRegistration = {
  environment: Environment;
  clientIdForm: ClientIdForm;
  /** The supplier organisation that owns it (relying-party pages and DCR). */
  organisationCode?: string;
  registeredBy?: string;
  /** A production client registered by its supplier waits for a service administrator. */
  awaitingApproval?: boolean;
  fetchJwks?: JwksFetcher;
};

/** Onboarding's rules, then oidc-provider's own check; either failing is bad input. */
export async function checkClient(
  input: unknown,
  registration: ClientRegistration,
  validate: (metadata: ClientMetadata) => Promise<void>,
): Promise<ClientMetadata> {
  const metadata = checkClientMetadata(input);
  await checkRelyingPartyRules(metadata, registration);
  try {
    await validate(metadata);
  } catch (error) {
    const description =
      (error as { error_description?: string }).error_description ?? (error as Error).message;
    throw InvalidInputError.field("client", description);
  }
  return metadata;
}

export async function addClient(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  input: unknown,
  validate: (metadata: ClientMetadata) => Promise<void>,
  registration: ClientRegistration = { environment: "development", clientIdForm: "registry" },
): Promise<ClientMetadata> {
  const metadata = await checkClient(input, registration, validate);
  return inTransaction(queryable, async (tx) => {
    if (await isRegistered(tx, metadata.client_id))
      throw new ConflictError(`client_id: ${metadata.client_id} is already registered`, "client_id");
    return storeClient(tx, actor, sealer, metadata, registration, "client.registered");
  });
}

/**
 * Writes a checked client (new or changed) with its sealed secret, tells every node, and audits
 * it, in the caller's transaction. The secret is never in the audit log nor the metadata column.
 */
export async function storeClient(
  tx: Tx,
  actor: Actor,
  sealer: Sealer,
  metadata: ClientMetadata,
  registration: Omit<ClientRegistration, "clientIdForm">,
  action: "client.registered" | "client.changed",
): Promise<ClientMetadata> {
  const { client_secret: secret, ...stored } = metadata;
  const row = {
    metadata: JSON.stringify(stored),
    sealed_secret: secret ? sealer.seal(secret) : null,
    default_acr: Array.isArray(stored.default_acr_values) ? String(stored.default_acr_values[0]) : null,
    environment: registration.environment,
    organisation_code: registration.organisationCode ?? null,
    registered_by: registration.registeredBy ?? null,
    awaiting_approval: registration.awaitingApproval ?? false,
    updated_at: new Date(),
  };
  await tx
    .insertInto("oidc_clients")
    .values({ client_id: metadata.client_id, ...row })
    .onConflict((conflict) => conflict.column("client_id").doUpdateSet(row))
    .execute();
  await announceChange(tx, metadata.client_id);
  await recordEvent(tx, actor, {
    action,
    subject: { type: "client", id: metadata.client_id },
    after: {
      ...stored,
      client_secret: secret ? "[sealed]" : undefined,
      environment: registration.environment,
      organisation: registration.organisationCode,
      awaiting_approval: registration.awaitingApproval || undefined,
    },
  });
  return stored as ClientMetadata;
}

/** Whether a client with this id is in the registry, approved or not. */
export async function isRegistered(queryable: Queryable, clientId: string): Promise<boolean> {
  const row = await queryable
    .selectFrom("oidc_clients")
    .select("client_id")
    .where("client_id", "=", clientId)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Registers a client the service itself needs, or, when `differs` finds the stored one (secret
 * unsealed) is not the one wanted, removes it and registers it again: both in one transaction,
 * so no node ever finds the client missing and the audit log has the removal and the
 * registration together.
 */
export async function ensureClient(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  wanted: ClientMetadata,
  validate: (metadata: ClientMetadata) => Promise<void>,
  registration: ClientRegistration,
  differs: (stored: ClientMetadata) => boolean,
): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const row = await tx
      .selectFrom("oidc_clients")
      .select(["metadata", "sealed_secret"])
      .where("client_id", "=", wanted.client_id)
      .executeTakeFirst();
    if (row) {
      const stored = row.metadata as ClientMetadata;
      const secret = row.sealed_secret === null ? undefined : sealer.open(row.sealed_secret);
      if (!differs(secret === undefined ? stored : { ...stored, client_secret: secret })) return;
      await removeClient(tx, actor, wanted.client_id);
    }
    await addClient(tx, actor, sealer, wanted, validate, registration);
  });
}

export async function listClients(queryable: Queryable): Promise<ClientMetadata[]> {
  const rows = await queryable.selectFrom("oidc_clients").select("metadata").orderBy("client_id").execute();
  return rows.map((row) => row.metadata as ClientMetadata);
}

export async function showClient(queryable: Queryable, clientId: string): Promise<ClientMetadata> {
  const row = await queryable
    .selectFrom("oidc_clients")
    .select("metadata")
    .where("client_id", "=", clientId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("client", `No client is registered with client_id ${clientId}`);
  return row.metadata as ClientMetadata;
}

export async function removeClient(queryable: Queryable, actor: Actor, clientId: string): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const before = await showClient(tx, clientId);
    await tx.deleteFrom("oidc_clients").where("client_id", "=", clientId).execute();
    await announceChange(tx, clientId);
    await recordEvent(tx, actor, {
      action: "client.removed",
      subject: { type: "client", id: clientId },
      before,
    });
  });
}

/** Tells every server, when the change commits, to forget what it kept of this client (client-cache.ts). */
export async function announceChange(tx: Tx, clientId: string): Promise<void> {
  await sql`SELECT pg_notify(${clientsChannel}, ${clientId})`.execute(tx);
}

/** The metadata oidc-provider needs, with the secret unsealed for comparison. */
export async function readClientMetadata(
  db: Db,
  sealer: Sealer,
  clientId: string,
): Promise<ClientMetadata | undefined> {
  const row = await db
    .selectFrom("oidc_clients")
    .select(["metadata", "sealed_secret"])
    .where("client_id", "=", clientId)
    // A production client its supplier registered is served only once a service administrator approved it.
    .where("awaiting_approval", "=", false)
    .executeTakeFirst();
  if (!row) return undefined;
  const metadata = row.metadata as ClientMetadata;
  return row.sealed_secret ? { ...metadata, client_secret: sealer.open(row.sealed_secret) } : metadata;
}
