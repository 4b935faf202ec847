import { parseNamedPort, type Source } from "./values.ts";

/** Where the service listens and how it is reached: ports, host, issuer, agent, mutual TLS, PKI, LDAP. */

export const realmPath = "/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare";

export function parsePort(value: string, problems: string[]): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    problems.push(`PORT must be a whole number from 0 to 65535, not "${value}"`);
  }
  return port;
}

export function parseHost(value: string, problems: string[]): string {
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(value))
    problems.push(`HOST must be a host name or IP address, not "${value}"`);
  return value;
}

export function parseIssuer(value: string | undefined, port: number, problems: string[]): string {
  if (value === undefined) return `http://localhost:${port}${realmPath}`;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !["http:", "https:"].includes(url.protocol) || url.search || url.hash) {
    problems.push("CAREID_ISSUER must be an http(s) URL without query or fragment");
  } else if (!url.pathname.endsWith(realmPath)) {
    problems.push(`CAREID_ISSUER must end with the CIS2 realm path ${realmPath}`);
  }
  return value;
}

export function parseAgentUrl(value: string, problems: string[]): string {
  if (!URL.canParse(value) || !["http:", "https:"].includes(new URL(value).protocol))
    problems.push("CAREID_SMARTCARD_AGENT_URL must be an http(s) URL");
  return value.replace(/\/+$/, "");
}

export function parseMutualTls(
  source: Source,
  problems: string[],
): { port: number; certFile: string; keyFile: string } | undefined {
  const { CAREID_MTLS_PORT: port, CAREID_MTLS_CERT: certFile, CAREID_MTLS_KEY: keyFile } = source;
  if (port === undefined && certFile === undefined && keyFile === undefined) return undefined;
  if (port === undefined || certFile === undefined || keyFile === undefined) {
    problems.push("CAREID_MTLS_PORT, CAREID_MTLS_CERT and CAREID_MTLS_KEY must be set together");
    return undefined;
  }
  return { port: parseNamedPort("CAREID_MTLS_PORT", port, problems), certFile, keyFile };
}

export function parsePkiUrl(value: string | undefined, issuer: string, problems: string[]): string {
  if (value === undefined) return URL.canParse(issuer) ? new URL(issuer).origin : "";
  if (!URL.canParse(value) || !["http:", "https:"].includes(new URL(value).protocol))
    problems.push(`CAREID_PKI_URL must be an http(s) URL, not "${value}"`);
  return value.replace(/\/+$/, "");
}

export function parseLdapAnonymous(value: string, problems: string[]): boolean {
  if (value !== "true" && value !== "false")
    problems.push(`CAREID_LDAP_ANONYMOUS must be true or false, not "${value}"`);
  return value !== "false";
}
