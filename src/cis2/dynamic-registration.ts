import { randomInt } from "node:crypto";
import { type Configuration, errors, type KoaContextWithOIDC } from "oidc-provider";
import type { Actor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { type Db, inTransaction } from "../store/database.ts";
import { checkRelyingPartyRules, type Environment } from "./client-rules.ts";
import { type ClientMetadata, checkClientMetadata, removeClient, storeClient } from "./clients.ts";

/**
 * OpenID Connect Dynamic Client Registration (RFC 7591) and its management (RFC 7592), as
 * oidc-provider implements them. Registration needs an initial access token, issued on the
 * relying-party pages for one organisation's development clients (relying-parties.ts); every
 * registration and change passes the same onboarding rules as the pages and the CLI, and is
 * stored in the client registry with its audit event by the adapter (see clientStorage).
 */
export const relyingPartyPolicy = "careid-relying-party";

/** Metadata the provider keeps for us: which organisation owns a client and what it is for. */
export const ownerMetadata = ["careid_organisation", "careid_environment"] as const;

/** The acting identity of a registration: the pipeline holding the organisation's token. */
export const registrationActor: Actor = {
  kind: "system",
  id: "dynamic-client-registration",
  source: "DCR",
};

/** Twelve random digits, CIS2's national form. */
export function nationalClientId(): string {
  return `${String(randomInt(1e11, 1e12))}.apps.national`;
}

type Owner = { organisationCode: string; environment: Environment };

export function dynamicRegistration(
  db: Db,
): Pick<NonNullable<Configuration["features"]>, "registration" | "registrationManagement"> {
  return {
    registration: {
      enabled: true,
      initialAccessToken: true,
      issueRegistrationAccessToken: true,
      idFactory: nationalClientId,
      policies: {
        [relyingPartyPolicy]: async (ctx: KoaContextWithOIDC, properties: Record<string, unknown>) => {
          const owner = await ownerOf(db, ctx);
          if (!owner)
            throw new errors.InvalidClientMetadata("the initial access token names no organisation");
          properties.careid_organisation = owner.organisationCode;
          properties.careid_environment = owner.environment;
          await admit(properties, owner.environment);
        },
      },
    },
    registrationManagement: { enabled: true, rotateRegistrationAccessToken: false },
  };
}

/** A new client: its token's organisation. A changed one: the organisation it already has. */
async function ownerOf(db: Db, ctx: KoaContextWithOIDC): Promise<Owner | undefined> {
  const token = ctx.oidc.entities.InitialAccessToken as { jti: string } | undefined;
  if (token) {
    const grant = await db
      .selectFrom("client_registration_tokens")
      .select(["organisation_code", "environment"])
      .where("token_id", "=", token.jti)
      .executeTakeFirst();
    return grant && { organisationCode: grant.organisation_code, environment: grant.environment };
  }
  const clientId = ctx.oidc.client?.clientId;
  if (!clientId) return undefined;
  const row = await db
    .selectFrom("oidc_clients")
    .select(["organisation_code", "environment"])
    .where("client_id", "=", clientId)
    .executeTakeFirst();
  return row?.organisation_code && row.environment
    ? { organisationCode: row.organisation_code, environment: row.environment }
    : undefined;
}

/** The onboarding rules, answered as RFC 7591 errors. */
async function admit(properties: Record<string, unknown>, environment: Environment): Promise<void> {
  try {
    checkClientMetadata(properties);
    await checkRelyingPartyRules(properties, { environment, clientIdForm: "national" });
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    const redirect = error.problems.find((problem) => problem.field.endsWith("redirect_uris"));
    if (redirect) {
      // Its constructor takes no description; RFC 7591 wants the reason said all the same.
      const refusal = new errors.InvalidRedirectUri();
      refusal.error_description = `${redirect.field} ${redirect.message}`;
      throw refusal;
    }
    throw new errors.InvalidClientMetadata(error.message);
  }
}

/**
 * The adapter's Client kind: a client written by registration goes to the registry (sealed
 * secret, its owner, the audit event in the same transaction) and is removed from it there.
 */
export function clientStorage(db: Db, sealer: Sealer) {
  return {
    async upsert(clientId: string, payload: Record<string, unknown>): Promise<void> {
      const organisationCode = payload.careid_organisation;
      const environment = payload.careid_environment;
      if (
        typeof organisationCode !== "string" ||
        (environment !== "development" && environment !== "production")
      )
        throw new errors.InvalidClientMetadata("a registered client needs its organisation");
      await inTransaction(db, async (tx) => {
        const existing = await tx
          .selectFrom("oidc_clients")
          .select("client_id")
          .where("client_id", "=", clientId)
          .executeTakeFirst();
        await storeClient(
          tx,
          registrationActor,
          sealer,
          { ...payload, client_id: clientId } as ClientMetadata,
          { environment, organisationCode },
          existing ? "client.changed" : "client.registered",
        );
      });
    },
    async destroy(clientId: string): Promise<void> {
      await removeClient(db, registrationActor, clientId);
    },
  };
}
