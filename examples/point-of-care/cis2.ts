import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import * as client from "openid-client";
import type { Settings } from "./settings.ts";

/**
 * Everything this app does with CIS2 Authentication, as any CIS2 relying party would: discovery,
 * the authorization-code flow with PKCE, state and nonce, the checks CIS2 asks relying parties to
 * make, RP-initiated logout and back-channel logout tokens.
 */
export const scope = "openid profile email nhsperson associatedorgs nationalrbacaccess selectedrole";
const backchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout";

/** What a sign-in must remember between sending the user to CIS2 and the callback. */
export type PendingSignIn = { verifier: string; state: string; nonce: string; acrValues: string };

export type Role = {
  person_roleid: string;
  person_orgid?: string;
  org_code: string;
  role_code: string;
  role_name: string;
  activities?: string[];
  activity_codes?: string[];
};

export type SignedInUser = {
  sub: string;
  sid: string | undefined;
  name: string;
  displayName: string;
  email: string | undefined;
  idToken: string;
  authTime: number;
  acr: string | undefined;
  amr: string[];
  authenticationAssuranceLevel: string;
  identityAssuranceLevel: string;
  selectedRole: Role | undefined;
  otherRoles: Role[];
  organisations: Map<string, string>;
};

/** A sign-in this app refuses: shown to the user, never a crash. */
export class SignInRefused extends Error {}

/** The lowest authentication assurance level any of the requested acr values accepts. */
export function minimumAssuranceLevel(acrValues: string): number {
  const levels = acrValues
    .split(" ")
    .filter(Boolean)
    .map((value) => (value === "AAL2_OR_AAL3_ANY" ? 2 : Number(/^AAL([1-3])_/.exec(value)?.[1] ?? 3)));
  return levels.length ? Math.min(...levels) : 3;
}

export class Cis2Client {
  private readonly settings: Settings;
  private configuration: Promise<client.Configuration> | undefined;
  private jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  private readonly seenLogoutTokens = new Map<string, number>();

  constructor(settings: Settings) {
    this.settings = settings;
  }

  /** Discovery, done once on first use (so the app may start before CIS2) and retried after a failure. */
  discover(): Promise<client.Configuration> {
    this.configuration ??= client
      .discovery(
        new URL(this.settings.issuer),
        this.settings.clientId,
        undefined,
        client.ClientSecretPost(this.settings.clientSecret),
        // Only the local demo issuer is plain HTTP; a real CIS2 issuer is always HTTPS.
        this.settings.issuer.startsWith("http:") ? { execute: [client.allowInsecureRequests] } : undefined,
      )
      .catch((error: unknown) => {
        this.configuration = undefined;
        throw error;
      });
    return this.configuration;
  }

  async startSignIn(redirectUri: string): Promise<{ url: URL; pending: PendingSignIn }> {
    const configuration = await this.discover();
    const pending: PendingSignIn = {
      verifier: client.randomPKCECodeVerifier(),
      state: client.randomState(),
      nonce: client.randomNonce(),
      acrValues: this.settings.acrValues,
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: "S256",
      state: pending.state,
      nonce: pending.nonce,
      acr_values: pending.acrValues,
      max_age: String(this.settings.maxAge),
    });
    return { url, pending };
  }

  /** Exchanges the code and makes the checks CIS2 relying parties make before trusting the user. */
  async finishSignIn(callbackUrl: URL, pending: PendingSignIn): Promise<SignedInUser> {
    const configuration = await this.discover();
    const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      maxAge: this.settings.maxAge,
      idTokenExpected: true,
    });
    const idToken = tokens.claims();
    if (!idToken || !tokens.id_token) throw new SignInRefused("CIS2 sent no ID token.");
    if (idToken.id_assurance_level !== "3") {
      throw new SignInRefused(
        `Your identity has been checked to level ${String(idToken.id_assurance_level)}; this service needs level 3. Contact your Registration Authority.`,
      );
    }
    const wanted = minimumAssuranceLevel(pending.acrValues);
    const got = Number(idToken.authentication_assurance_level);
    if (!(got >= wanted)) {
      throw new SignInRefused(
        `You signed in at authentication assurance level ${String(idToken.authentication_assurance_level)}; this service needs level ${wanted}.`,
      );
    }
    const now = Math.floor(Date.now() / 1000);
    if (typeof idToken.auth_time !== "number" || now - idToken.auth_time > this.settings.maxAge + 30) {
      throw new SignInRefused("Your sign-in is too old. Sign in again.");
    }
    // fetchUserInfo refuses a UserInfo response whose sub differs from the ID token's; checked again to be plain.
    const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub);
    if (userinfo.sub !== idToken.sub) throw new SignInRefused("CIS2 described a different user.");

    const roles = Array.isArray(userinfo.nhsid_nrbac_roles) ? (userinfo.nhsid_nrbac_roles as Role[]) : [];
    const selectedRoleId = idToken.selected_roleid ?? userinfo.selected_roleid;
    const organisations = new Map<string, string>();
    if (Array.isArray(userinfo.nhsid_user_orgs)) {
      for (const org of userinfo.nhsid_user_orgs as { org_code: string; org_name: string }[]) {
        organisations.set(org.org_code, org.org_name);
      }
    }
    const displayName =
      [userinfo.title, userinfo.given_name, userinfo.family_name].filter(Boolean).join(" ") ||
      String(userinfo.name ?? idToken.sub);
    return {
      sub: idToken.sub,
      sid: typeof idToken.sid === "string" ? idToken.sid : undefined,
      name: String(userinfo.name ?? ""),
      displayName,
      email: typeof userinfo.email === "string" ? userinfo.email : undefined,
      idToken: tokens.id_token,
      authTime: idToken.auth_time,
      acr: typeof idToken.acr === "string" ? idToken.acr : undefined,
      amr: Array.isArray(idToken.amr) ? idToken.amr.map(String) : [],
      authenticationAssuranceLevel: String(idToken.authentication_assurance_level),
      identityAssuranceLevel: String(idToken.id_assurance_level),
      selectedRole: roles.find((role) => role.person_roleid === selectedRoleId),
      otherRoles: roles.filter((role) => role.person_roleid !== selectedRoleId),
      organisations,
    };
  }

  async endSessionUrl(idToken: string, postLogoutRedirectUri: string): Promise<URL> {
    return client.buildEndSessionUrl(await this.discover(), {
      id_token_hint: idToken,
      post_logout_redirect_uri: postLogoutRedirectUri,
    });
  }

  /**
   * Verifies a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, section 2.6):
   * signed by CIS2's key, for this client, carrying the logout event and no nonce, recent, not replayed.
   */
  async verifyLogoutToken(token: string): Promise<JWTPayload & { sub?: string; sid?: string }> {
    const configuration = await this.discover();
    const metadata = configuration.serverMetadata();
    if (!metadata.jwks_uri) throw new Error("CIS2 publishes no jwks_uri");
    this.jwks ??= createRemoteJWKSet(new URL(metadata.jwks_uri));
    const { payload } = await jwtVerify(token, this.jwks, {
      issuer: metadata.issuer,
      audience: this.settings.clientId,
      algorithms: ["RS256"],
      maxTokenAge: "2 minutes",
      clockTolerance: 30,
    });
    const events = payload.events;
    if (typeof events !== "object" || events === null || !(backchannelLogoutEvent in events)) {
      throw new Error("the token holds no back-channel logout event");
    }
    if ("nonce" in payload) throw new Error("a logout token must not hold a nonce");
    if (typeof payload.sub !== "string" && typeof payload.sid !== "string") {
      throw new Error("the token names neither sub nor sid");
    }
    if (typeof payload.jti !== "string") throw new Error("the token has no jti");
    const now = Date.now();
    for (const [jti, until] of this.seenLogoutTokens) if (until < now) this.seenLogoutTokens.delete(jti);
    if (this.seenLogoutTokens.has(payload.jti)) throw new Error("the token has been used already");
    this.seenLogoutTokens.set(payload.jti, now + 5 * 60_000);
    return payload as JWTPayload & { sub?: string; sid?: string };
  }
}
