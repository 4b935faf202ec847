/**
 * Who we are to WebAuthn authenticators. The RP ID is the issuer's host name, so credentials
 * are bound to the host relying parties send their users to; the origin is where the sign-in
 * and enrolment pages are served. Browsers refuse IP addresses as RP IDs: use a host name
 * (localhost in development).
 */
export type RelyingParty = { id: string; name: string; origin: string };

export function relyingPartyFor(issuer: string): RelyingParty {
  const url = new URL(issuer);
  return { id: url.hostname, name: "Care Identity Service", origin: url.origin };
}
