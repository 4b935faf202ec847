import type { Actor } from "../audit/actor.ts";
import { setPassword } from "../authenticators/password/passwords.ts";
import { addClient, type ClientMetadata, isRegistered } from "../cis2/clients.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { type Db, inTransaction } from "../store/database.ts";
import { takeStartUpLock } from "../store/start-up-lock.ts";

/**
 * What the demo needs to sign in: a development password for every demo person and the example
 * point-of-care app in examples/ as a registered relying party. All of it is public in the
 * README: nothing here may ever reach a real deployment.
 */
export const demoPassword = "care-identity-demo";

export const demoClientId = "999999999999.apps.national";
export const demoClientSecret = "demo-client-secret-for-the-example-app-only";

export function demoClient(baseUrl = "http://127.0.0.1:3001"): ClientMetadata {
  return {
    client_id: demoClientId,
    client_name: "Demo point-of-care app",
    client_secret: demoClientSecret,
    token_endpoint_auth_method: "client_secret_post",
    redirect_uris: [`${baseUrl}/callback`, "http://localhost:3001/callback"],
    post_logout_redirect_uris: [`${baseUrl}/`, "http://localhost:3001/"],
    backchannel_logout_uri: `${baseUrl}/backchannel-logout`,
    grant_types: ["authorization_code", "refresh_token"],
    scope:
      "openid profile email nhsperson associatedorgs nationalrbacaccess organisationalmemberships professionalmemberships selectedrole offline_access",
    default_acr_values: ["AAL1_USERPASS"],
  };
}

/** Once per database: nodes starting together wait on the start-up lock and find it done. */
export async function seedDemoSignIn(
  db: Db,
  actor: Actor,
  sealer: Sealer,
  validate: (metadata: ClientMetadata) => Promise<void>,
): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    await takeStartUpLock(tx);
    if (await isRegistered(tx, demoClientId)) return false;
    const people = await tx.selectFrom("people").select("uuid").where("status", "=", "active").execute();
    for (const person of people) await setPassword(tx, actor, person.uuid, demoPassword);
    await addClient(tx, actor, sealer, demoClient(), validate);
    return true;
  });
}
