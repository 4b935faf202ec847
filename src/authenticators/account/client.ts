import { hkdfSync } from "node:crypto";
import type { Actor } from "../../audit/actor.ts";
import { addClient, type ClientMetadata, removeClient } from "../../cis2/clients.ts";
import { ConflictError } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";

/**
 * The "your authenticators" page signs people in through CIS2 as any relying party does, with a
 * client of its own. Its secret is derived from the master key, so every node knows it without
 * storing it anywhere new; the registration is made (or corrected) at start.
 */
export const accountClientId = "careid-your-authenticators";
export const accountCallbackPath = "/authenticators/mine/callback";

export function accountClientSecret(masterKey: Buffer): string {
  return Buffer.from(
    hkdfSync("sha256", masterKey, "careid", "your-authenticators-client-secret", 32),
  ).toString("base64url");
}

export function accountClientMetadata(issuer: string, secret: string): ClientMetadata {
  return {
    client_id: accountClientId,
    client_name: "Your authenticators (Care Identity Service)",
    client_secret: secret,
    token_endpoint_auth_method: "client_secret_post",
    redirect_uris: [`${new URL(issuer).origin}${accountCallbackPath}`],
    grant_types: ["authorization_code"],
    scope: "openid",
    default_acr_values: ["AAL2_OR_AAL3_ANY"],
  };
}

export async function ensureAccountClient(
  db: Db,
  actor: Actor,
  sealer: Sealer,
  settings: { issuer: string; masterKey: Buffer },
  validate: (metadata: ClientMetadata) => Promise<void>,
): Promise<void> {
  const wanted = accountClientMetadata(settings.issuer, accountClientSecret(settings.masterKey));
  const row = await db
    .selectFrom("oidc_clients")
    .select(["metadata", "sealed_secret"])
    .where("client_id", "=", accountClientId)
    .executeTakeFirst();
  if (row) {
    const current = row.metadata as ClientMetadata;
    const same =
      JSON.stringify(current.redirect_uris) === JSON.stringify(wanted.redirect_uris) &&
      row.sealed_secret !== null &&
      sealer.open(row.sealed_secret) === wanted.client_secret;
    if (same) return;
    await removeClient(db, actor, accountClientId);
  }
  try {
    await addClient(db, actor, sealer, wanted, validate);
  } catch (error) {
    // Another node starting at the same moment registered it first.
    if (!(error instanceof ConflictError)) throw error;
  }
}
