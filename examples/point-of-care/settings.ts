import { randomBytes } from "node:crypto";

/** How the demo point-of-care app is configured: environment variables, defaulting to the demo client. */
export type Settings = {
  /** The CIS2 issuer, compared byte for byte with the discovery document and every token's `iss`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated `acr_values` sent with every sign-in. */
  acrValues: string;
  /** `max_age` sent with every sign-in, and how old `auth_time` may be, in seconds. */
  maxAge: number;
  port: number;
  host: string;
  /**
   * Where browsers reach this app; the redirect URIs are built from it. Unset: http://HOST:PORT,
   * or http://localhost:PORT on the loopback, the host name the demo's CIS2 uses too.
   */
  baseUrl?: string;
  /** Key that signs this app's cookies. */
  cookieSecret: string;
  /** No log lines (sign-ins, back-channel logouts, refusals) on stdout. */
  quiet: boolean;
};

export const demoIssuer =
  "http://localhost:3000/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare";

export function settingsFromEnvironment(environment: NodeJS.ProcessEnv = process.env): Settings {
  const port = Number(environment.PORT ?? 3001);
  const maxAge = Number(environment.MAX_AGE ?? 300);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error("PORT must be a TCP port number");
  if (!Number.isInteger(maxAge) || maxAge <= 0) throw new Error("MAX_AGE must be a number of seconds");
  const host = environment.HOST ?? "127.0.0.1";
  return {
    issuer: environment.CIS2_ISSUER ?? demoIssuer,
    clientId: environment.CLIENT_ID ?? "999999999999.apps.national",
    clientSecret: environment.CLIENT_SECRET ?? "demo-client-secret-for-the-example-app-only",
    acrValues: environment.ACR_VALUES ?? "AAL1_USERPASS",
    maxAge,
    port,
    host,
    baseUrl: environment.BASE_URL?.replace(/\/+$/, "") ?? loopbackBaseUrl(host, port),
    cookieSecret: environment.SESSION_SECRET ?? randomBytes(32).toString("base64url"),
    quiet: environment.LOG_LEVEL === "silent",
  };
}

/** The demo runs at one host name, localhost, whichever loopback address the app listens on. */
function loopbackBaseUrl(host: string, port: number): string | undefined {
  if (port === 0 || !["127.0.0.1", "localhost", "::1"].includes(host)) return undefined;
  return `http://localhost:${port}`;
}
