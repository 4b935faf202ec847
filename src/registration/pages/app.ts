import type { Config } from "../../config.ts";
import type { FirstPartyApp } from "../../web/first-party/app.ts";

/** Care Identity Management as a first-party app of CIS2, under /cim beside the issuer. */
export const cimPath = "/cim";

/**
 * CIM asks for AAL3_ANY (CAREID_CIM_ACR); the demo lets its fictional people in with the
 * development password too. A session ends after the idle time or twelve hours.
 */
export function cimApp(config: Config, developmentLogin: boolean): FirstPartyApp {
  return {
    name: "care-identity-management",
    clientId: config.cimClientId,
    clientName: "Care Identity Management",
    path: cimPath,
    scope: "openid profile",
    acrValues: config.cimAcr ?? (developmentLogin ? "AAL3_ANY AAL1_USERPASS" : "AAL3_ANY"),
    freshSignIn: false,
    requires: "acr",
    signedOutPath: `${cimPath}/signed-out`,
    idleMinutes: config.cimIdleMinutes,
    longestMinutes: 12 * 60,
  };
}
