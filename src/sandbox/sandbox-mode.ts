import { resolve } from "node:path";
import { realmPath } from "../config.ts";

/** Where `careid sandbox` keeps its files unless told otherwise: beside the clone, ignored by git. */
export const sandboxFolder = "careid-sandbox";
export const defaultPersonasFile = `${sandboxFolder}/personas.json`;

/**
 * The sandbox's settings from the operator's environment: always the embedded database (in its
 * own folder, never a PostgreSQL the environment names), no development password login, LDAP on
 * any free port unless one is named.
 */
export function sandboxEnvironment(environment: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...rest } = environment;
  return {
    ...rest,
    CAREID_DATA_DIR: environment.CAREID_DATA_DIR || resolve(sandboxFolder, "data"),
    CAREID_DEV_LOGIN: "false",
    CAREID_LDAP_PORT: environment.CAREID_LDAP_PORT ?? "0",
  };
}

/**
 * The sandbox's issuer: the service's origin with `/sandbox` before the CIS2 realm path, so every
 * token it signs says where it came from, and no relying party configured for a real CIS2
 * issuer accepts one.
 */
export function sandboxIssuer(issuer: string): string {
  return `${new URL(issuer).origin}/sandbox${realmPath}`;
}
