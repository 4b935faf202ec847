import type { FirstPartyApp } from "../../web/first-party/app.ts";

export const accountPath = "/authenticators/mine";

/**
 * "Your authenticators" as a first-party app of CIS2. A fresh sign-in at AAL2 or AAL3 names the
 * method (amr), and so the AAL the person may add authenticators up to. A session lasts 15
 * minutes from that sign-in and is never extended: changing one's authenticators is a short task,
 * and a short life bounds what a stolen cookie or a CIS2 session ended elsewhere can still do.
 */
export const accountApp: FirstPartyApp = {
  name: "your-authenticators",
  clientId: "careid-your-authenticators",
  clientName: "Your authenticators (Care Identity Service)",
  path: accountPath,
  scope: "openid",
  acrValues: "AAL2_OR_AAL3_ANY",
  freshSignIn: true,
  requires: "amr",
  idleMinutes: 15,
  longestMinutes: 15,
};
