import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { NotFoundError, Problems } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";

/**
 * An upstream OpenID Connect provider people sign in with for NHS.net Connect: an organisation's
 * Microsoft Entra ID tenant (issuer https://login.microsoftonline.com/TENANT/v2.0) or any other
 * OpenID provider. Configured as data (`careid federation add --file upstream.json`); the client
 * secret or private_key_jwt key is sealed at rest and never printed again.
 */
export type UpstreamProvider = {
  id: string;
  displayName: string;
  issuer: string;
  clientId: string;
  authMethod: "client_secret_post" | "client_secret_basic" | "private_key_jwt";
  scopes: string;
  /** The ID token claim that names the upstream account for good: Entra ID's `oid`, or `email`. */
  identifyingClaim: string;
  /** Entra ID's `tid`: when set, an ID token from another tenant is refused. */
  tenantId: string | null;
  /** The email domains an upstream account must belong to; empty: any. */
  allowedDomains: string[];
};

/** The provider with its opened credential, for the upstream client only. */
export type UpstreamProviderWithCredential = UpstreamProvider & {
  clientSecret?: string;
  privateKeyJwk?: Record<string, unknown>;
};

const authMethods = ["client_secret_post", "client_secret_basic", "private_key_jwt"] as const;

/** Reads and checks an upstream.json; every field at fault is named at once. */
export function parseUpstreamProvider(input: unknown): UpstreamProviderWithCredential {
  const file = (typeof input === "object" && input !== null ? input : {}) as Record<string, unknown>;
  const problems = new Problems();
  const text = (name: string, pattern?: RegExp) => {
    const value = file[name];
    if (typeof value !== "string" || value.trim() === "") problems.add(name, "is required");
    else if (pattern && !pattern.test(value)) problems.add(name, `is not valid: ${value}`);
    return typeof value === "string" ? value.trim() : "";
  };
  const id = text("id", /^[a-z0-9][a-z0-9-]{0,39}$/);
  const issuer = text("issuer");
  try {
    const url = new URL(issuer);
    if (url.protocol !== "https:" && !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname))
      problems.add("issuer", "must be https (plain http only on this machine, for tests)");
  } catch {
    if (issuer) problems.add("issuer", "must be a URL");
  }
  const clientId = text("clientId");
  const privateKeyJwk = file.privateKeyJwk;
  const clientSecret = file.clientSecret;
  const authMethod = (file.authMethod ??
    (privateKeyJwk ? "private_key_jwt" : "client_secret_post")) as string;
  if (!(authMethods as readonly string[]).includes(authMethod))
    problems.add("authMethod", `must be one of ${authMethods.join(", ")}`);
  if (authMethod === "private_key_jwt") {
    const jwk = privateKeyJwk as Record<string, unknown> | undefined;
    if (typeof jwk !== "object" || jwk === null || typeof jwk.d !== "string")
      problems.add("privateKeyJwk", "must be a private JWK (with d) for private_key_jwt");
  } else if (typeof clientSecret !== "string" || clientSecret.length < 16)
    problems.add("clientSecret", "must be at least 16 characters");
  const scopes = typeof file.scopes === "string" ? file.scopes : "openid profile email";
  if (!scopes.split(" ").includes("openid")) problems.add("scopes", "must include openid");
  const identifyingClaim = typeof file.identifyingClaim === "string" ? file.identifyingClaim : "oid";
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(identifyingClaim))
    problems.add("identifyingClaim", "must be a claim name, e.g. oid or email");
  const allowedDomains = file.allowedDomains ?? [];
  if (
    !Array.isArray(allowedDomains) ||
    !allowedDomains.every((domain) => typeof domain === "string" && /^[a-z0-9.-]+\.[a-z]{2,}$/i.test(domain))
  )
    problems.add("allowedDomains", 'must be a list of email domains, e.g. ["nhs.net"]');
  const tenantId = file.tenantId;
  if (tenantId !== undefined && (typeof tenantId !== "string" || tenantId === ""))
    problems.add("tenantId", "must be the tenant id (tid) when given");
  problems.throwIfAny();
  return {
    id,
    displayName: typeof file.displayName === "string" ? file.displayName : "NHS.net Connect",
    issuer,
    clientId,
    authMethod: authMethod as UpstreamProvider["authMethod"],
    scopes,
    identifyingClaim,
    tenantId: (tenantId as string | undefined) ?? null,
    allowedDomains: (allowedDomains as string[]).map((domain) => domain.toLowerCase()),
    ...(authMethod === "private_key_jwt"
      ? { privateKeyJwk: privateKeyJwk as Record<string, unknown> }
      : { clientSecret: clientSecret as string }),
  };
}

/** Adds or replaces an upstream provider; the audit log records it without its credential. */
export async function addUpstreamProvider(
  queryable: Queryable,
  actor: Actor,
  sealer: Sealer,
  input: unknown,
): Promise<UpstreamProvider> {
  const { clientSecret, privateKeyJwk, ...provider } = parseUpstreamProvider(input);
  const credential = sealer.seal(privateKeyJwk ? JSON.stringify(privateKeyJwk) : String(clientSecret));
  const values = {
    display_name: provider.displayName,
    issuer: provider.issuer,
    client_id: provider.clientId,
    auth_method: provider.authMethod,
    sealed_credential: credential,
    scopes: provider.scopes,
    identifying_claim: provider.identifyingClaim,
    tenant_id: provider.tenantId,
    allowed_domains: JSON.stringify(provider.allowedDomains),
  };
  return inTransaction(queryable, async (tx) => {
    const before = await findUpstreamProvider(tx, provider.id);
    await tx
      .insertInto("upstream_providers")
      .values({ id: provider.id, ...values })
      .onConflict((conflict) => conflict.column("id").doUpdateSet(values))
      .execute();
    await recordEvent(tx, actor, {
      action: before ? "federation.provider-replaced" : "federation.provider-added",
      subject: { type: "upstream-provider", id: provider.id },
      before: before ?? undefined,
      after: { ...provider, credential: "[sealed]" },
    });
    return provider;
  });
}

export async function removeUpstreamProvider(queryable: Queryable, actor: Actor, id: string): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const before = await findUpstreamProvider(tx, id);
    if (!before) throw new NotFoundError("upstream-provider", `no upstream provider ${id}`);
    const links = await tx
      .deleteFrom("upstream_links")
      .where("provider_id", "=", id)
      .returning("uuid")
      .execute();
    await tx.deleteFrom("upstream_providers").where("id", "=", id).execute();
    await recordEvent(tx, actor, {
      action: "federation.provider-removed",
      subject: { type: "upstream-provider", id },
      before: { ...before, links: links.length },
    });
  });
}

export async function listUpstreamProviders(queryable: Queryable): Promise<UpstreamProvider[]> {
  const rows = await queryable.selectFrom("upstream_providers").selectAll().orderBy("id").execute();
  return rows.map(providerOf);
}

export async function findUpstreamProvider(
  queryable: Queryable,
  id: string,
): Promise<UpstreamProvider | undefined> {
  const row = await queryable
    .selectFrom("upstream_providers")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  return row && providerOf(row);
}

/** The provider with its credential opened: only the upstream client calls this. */
export async function openUpstreamProvider(
  queryable: Queryable,
  sealer: Sealer,
  id: string,
): Promise<UpstreamProviderWithCredential> {
  const row = await queryable
    .selectFrom("upstream_providers")
    .selectAll()
    .where("id", "=", id)
    .executeTakeFirst();
  if (!row) throw new NotFoundError("upstream-provider", `no upstream provider ${id}`);
  const credential = sealer.open(row.sealed_credential);
  return row.auth_method === "private_key_jwt"
    ? { ...providerOf(row), privateKeyJwk: JSON.parse(credential) }
    : { ...providerOf(row), clientSecret: credential };
}

function providerOf(row: {
  id: string;
  display_name: string;
  issuer: string;
  client_id: string;
  auth_method: UpstreamProvider["authMethod"];
  scopes: string;
  identifying_claim: string;
  tenant_id: string | null;
  allowed_domains: string[];
}): UpstreamProvider {
  return {
    id: row.id,
    displayName: row.display_name,
    issuer: row.issuer,
    clientId: row.client_id,
    authMethod: row.auth_method,
    scopes: row.scopes,
    identifyingClaim: row.identifying_claim,
    tenantId: row.tenant_id,
    allowedDomains:
      typeof row.allowed_domains === "string" ? JSON.parse(row.allowed_domains) : row.allowed_domains,
  };
}
