import { hkdfSync } from "node:crypto";

/**
 * A first-party app: a part of this service that signs its users in through our own CIS2 as any
 * relying party does. Its client is registered (or corrected) at every start with a secret
 * derived from the master key, so every node knows it and no copy of it is stored anywhere new.
 */
export type FirstPartyApp = {
  /** Names the app's sessions and its secret's derivation; never changes. */
  name: string;
  clientId: string;
  clientName: string;
  /** Where the app lives; CIS2 returns to `${path}/callback`. */
  path: string;
  scope: string;
  /** The acr_values asked for at sign-in. */
  acrValues: string;
  /** prompt=login: a fresh authentication, whatever CIS2 session the browser has. */
  freshSignIn: boolean;
  /** How the sign-in is checked: acr among those asked for, or a known sign-in method in amr. */
  requires: "acr" | "amr";
  /** Where RP-initiated logout returns to, if the app signs out of CIS2 too. */
  signedOutPath?: string;
  idleMinutes: number;
  longestMinutes: number;
};

export function appOrigin(issuer: string): string {
  return new URL(issuer).origin;
}

export function firstPartyClientSecret(masterKey: Buffer, app: FirstPartyApp): string {
  return Buffer.from(hkdfSync("sha256", masterKey, "careid", `${app.name}-client-secret`, 32)).toString(
    "base64url",
  );
}
