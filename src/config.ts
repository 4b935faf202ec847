import { resolve } from "node:path";
import {
  parseAaguids,
  parseAcrValues,
  parseActivityCode,
  parseCardLifetime,
  parseClientIds,
} from "./config/identity.ts";
import { type MessageSettings, parseMessageSettings } from "./config/messages.ts";
import {
  parseAgentUrl,
  parseHost,
  parseIssuer,
  parseLdapAnonymous,
  parseMutualTls,
  parsePkiUrl,
  parsePort,
  realmPath,
} from "./config/network.ts";
import { parseDatabaseUrl, parseMasterKey, parseToken } from "./config/secrets.ts";
import {
  ConfigError,
  definedOnly,
  type LogLevel,
  logLevels,
  parseBoolean,
  parseList,
  parseLogLevel,
  parseNamedPort,
  parseWholeNumber,
  readConfigFile,
  type Source,
} from "./config/values.ts";

export { ConfigError, type LogLevel, type MessageSettings, realmPath };

/**
 * Every setting the service reads, its environment variable and its default, in one place.
 * A value may also come from a JSON file named by CAREID_CONFIG_FILE (keys are the variable
 * names); the environment wins over the file so an operator can override one value at a time.
 * Over 400 lines because the settings table (the README's and --help's list) and loadConfig,
 * which reads each of them, are the one place a setting is added; the parsers, by area, are in
 * config/.
 */
export type Config = {
  port: number;
  host: string;
  /** PostgreSQL connection string; absent means the embedded PGlite database. */
  databaseUrl: string | undefined;
  dataDir: string;
  /**
   * 32-byte key-encryption key, from CAREID_MASTER_KEY or CAREID_MASTER_KEY_FILE; absent means a
   * key file created in the data directory, which only the embedded database may use.
   */
  masterKey: Buffer | undefined;
  logLevel: LogLevel;
  /** LDAP server port (0 picks a free one). */
  ldapPort: number;
  /** LDAPS port, used when a certificate and key are configured. */
  ldapsPort: number;
  ldapCertFile: string | undefined;
  ldapKeyFile: string | undefined;
  /** Whether clients may read the directory without binding as a service account. */
  ldapAnonymous: boolean;
  /** The CIS2 issuer exactly as relying parties compare it. */
  issuer: string;
  /** The development realm's AAL1_USERPASS password login; never on in production. */
  developmentLogin: boolean | undefined;
  /** Believe X-Forwarded-* headers from a TLS-terminating proxy in front of the service. */
  trustProxy: boolean;
  /** Seconds between failing readiness and closing, on SIGTERM, so a load balancer stops sending first. */
  drainSeconds: number;
  /** WebAuthn attestation policy: what registering authenticators must prove (files are read at start). */
  webauthn: {
    attestationRootFiles: string[];
    allowedAaguids: string[];
    deniedAaguids: string[];
    metadataFile: string | undefined;
    metadataRootFile: string | undefined;
  };
  /** Base URL under which the CA publishes its certificates, CRL and OCSP responder. */
  pkiUrl: string;
  /** Lifetime of a smartcard's certificates, in days (a fraction of one in tests). */
  cardCertificateDays: number;
  /** A PKCS#11 token that holds the issuing CA's key; absent, the key is sealed in the database. */
  caToken: { modulePath: string; tokenLabel: string; pin: string } | undefined;
  /** The token holding the remote signing service's per-person keys; unset: sealed in the database. */
  signingToken: { modulePath: string; tokenLabel: string; pin: string } | undefined;
  /** Where the workstation smartcard agent listens on the holder's own computer. */
  smartcardAgentUrl: string;
  /** The mutual-TLS smartcard sign-in listener: off unless a port, certificate and key are set. */
  mtls: { port: number; certFile: string; keyFile: string } | undefined;
  /** Care Identity Management's client id at CIS2 (its secret is read from the client registry). */
  cimClientId: string;
  /** Client ids whose access tokens the CIM API accepts: CIM's own unless configured. */
  cimApiClients: string[];
  /** The acr_values CIM asks CIS2 for; absent means AAL3_ANY, or also AAL1_USERPASS in the demo. */
  cimAcr: string | undefined;
  /** Minutes without use after which a CIM session ends. */
  cimIdleMinutes: number;
  /** Whether the prescription verifier accepts legacy rsa-sha1 signatures (never made here). */
  signingAllowRsaSha1: boolean;
  /** Activity codes of relying-party administrators and of the service administrators who approve production clients. */
  relyingParties: { administratorActivity: string; approverActivity: string };
  /** CIS1 legacy single sign-on: session limits and whether role assertions are signed. */
  cis1: { idleMinutes: number; sessionHours: number; signAssertions: boolean };
  /** How email and text messages go out (src/messaging/). */
  messages: MessageSettings;
  /** Email domains a self-service unlock code may be sent to (lower case). */
  unlockEmailDomains: string[];
  /** Apply for Care ID (src/apply/): how long a link works, how long photos outlive a decision. */
  apply: { linkDays: number; photoDays: number };
};

export const settings = [
  { name: "PORT", default: "3000", meaning: "TCP port the HTTP server listens on (0 picks a free one)." },
  { name: "HOST", default: "127.0.0.1", meaning: "Address the HTTP server binds to." },
  {
    name: "DATABASE_URL",
    default: "(unset)",
    meaning: "PostgreSQL connection string (postgres://...). Unset: embedded PGlite under CAREID_DATA_DIR.",
  },
  {
    name: "CAREID_DATA_DIR",
    default: "./data",
    meaning: "Directory for the embedded database and key files.",
  },
  {
    name: "CAREID_MASTER_KEY",
    default: "(unset)",
    meaning:
      "Key-encryption key for secrets at rest: 32 bytes as 64 hex digits or base64. Required with DATABASE_URL (or CAREID_MASTER_KEY_FILE); unset on the embedded database, one is made in CAREID_DATA_DIR.",
  },
  {
    name: "CAREID_MASTER_KEY_FILE",
    default: "(unset)",
    meaning:
      "A file holding the key-encryption key instead (e.g. a mounted secret); with DATABASE_URL it must lie outside CAREID_DATA_DIR.",
  },
  { name: "LOG_LEVEL", default: "info", meaning: `One of ${logLevels.join(", ")}.` },
  {
    name: "CAREID_ISSUER",
    default: "http://localhost:PORT/openam/oauth2/realms/root/realms/NHSIdentity/realms/Healthcare",
    meaning: "CIS2 issuer URL, exactly as relying parties compare it (e.g. https://HOST:443/openam/...).",
  },
  {
    name: "CAREID_DEV_LOGIN",
    default: "false (true with serve --demo)",
    meaning: "Allow the development realm's AAL1_USERPASS password sign-in.",
  },
  {
    name: "CAREID_TRUST_PROXY",
    default: "false",
    meaning:
      "Trust X-Forwarded-* headers from a TLS proxy in front (oidc-provider too): a request it says came over https gets HSTS and Secure cookies.",
  },
  {
    name: "CAREID_DRAIN_SECONDS",
    default: "5",
    meaning:
      "On SIGTERM, seconds /health/ready answers 503 before the server stops taking requests, so a load balancer moves traffic away first; requests in flight then finish.",
  },
  {
    name: "CAREID_LDAP_PORT",
    default: "1389",
    meaning: "TCP port of the directory's LDAP server (0 picks a free one).",
  },
  {
    name: "CAREID_LDAPS_PORT",
    default: "1636",
    meaning: "TCP port of the LDAPS server, started when CAREID_LDAP_CERT and CAREID_LDAP_KEY are set.",
  },
  { name: "CAREID_LDAP_CERT", default: "(unset)", meaning: "PEM certificate (chain) file for LDAPS." },
  { name: "CAREID_LDAP_KEY", default: "(unset)", meaning: "PEM private key file for LDAPS." },
  {
    name: "CAREID_LDAP_ANONYMOUS",
    default: "true",
    meaning: "Allow anonymous LDAP reads; false requires a service account bind (careid ldap accounts add).",
  },
  {
    name: "CAREID_SMARTCARD_AGENT_URL",
    default: "http://127.0.0.1:8765",
    meaning: "Where sign-in pages reach the smartcard agent (careid agent) on the user's computer.",
  },
  {
    name: "CAREID_MTLS_PORT",
    default: "(unset)",
    meaning:
      "HTTPS port of the mutual-TLS smartcard sign-in (N3_SMARTCARD); needs CAREID_MTLS_CERT and CAREID_MTLS_KEY.",
  },
  {
    name: "CAREID_MTLS_CERT",
    default: "(unset)",
    meaning: "PEM certificate (chain) file of the mutual-TLS listener.",
  },
  {
    name: "CAREID_MTLS_KEY",
    default: "(unset)",
    meaning: "PEM private key file of the mutual-TLS listener.",
  },
  {
    name: "CAREID_PKI_URL",
    default: "the issuer's origin",
    meaning:
      "Base URL of the CA's publication (/pki/issuing.crl, /pki/ocsp), written into every card certificate.",
  },
  {
    name: "CAREID_CARD_CERTIFICATE_DAYS",
    default: "1095",
    meaning: "Lifetime of smartcard certificates in days (two to three years in CIS: 730 to 1095).",
  },
  {
    name: "CAREID_CARD_CERTIFICATE_SECONDS",
    default: "(unset)",
    meaning:
      "For tests and demonstrations only: a lifetime of smartcard certificates in seconds (5 to 86400), instead of the days above, so a card expires while you watch.",
  },
  {
    name: "CAREID_CA_PKCS11_MODULE",
    default: "(unset)",
    meaning:
      "PKCS#11 module (.so) of a token to generate and hold the issuing CA key; unset: sealed in the database.",
  },
  { name: "CAREID_CA_PKCS11_TOKEN", default: "(unset)", meaning: "Label of that token." },
  { name: "CAREID_CA_PKCS11_PIN", default: "(unset)", meaning: "User PIN of that token." },
  {
    name: "CAREID_CIM_CLIENT_ID",
    default: "care-identity-management",
    meaning:
      "Client id Care Identity Management (/cim) signs its users in with at CIS2; registered (or corrected) at every start.",
  },
  {
    name: "CAREID_CIM_API_CLIENTS",
    default: "CAREID_CIM_CLIENT_ID",
    meaning:
      "Comma-separated client ids whose CIS2 access tokens the CIM API (/cim/api/v1) accepts; a token of any other client is refused.",
  },
  {
    name: "CAREID_CIM_ACR",
    default: "AAL3_ANY (AAL3_ANY AAL1_USERPASS with serve --demo)",
    meaning: "acr_values Care Identity Management asks CIS2 for; a sign-in at another class is refused.",
  },
  {
    name: "CAREID_CIM_IDLE_MINUTES",
    default: "15",
    meaning: "Minutes without use after which a Care Identity Management session ends.",
  },
  {
    name: "CAREID_WEBAUTHN_ATTESTATION_ROOTS",
    default: "(unset)",
    meaning:
      "PEM files (comma-separated) of attestation roots: a security key, Windows Hello, iPad or passkey is AAL3 only if its attestation chains to one (or to its MDS statement's roots).",
  },
  {
    name: "CAREID_WEBAUTHN_AAGUID_ALLOW",
    default: "(unset: any)",
    meaning:
      "Comma-separated AAGUIDs that alone may register; an allow list also requires a trusted attestation, since an unattested AAGUID proves nothing.",
  },
  {
    name: "CAREID_WEBAUTHN_AAGUID_DENY",
    default: "(unset)",
    meaning: "Comma-separated AAGUIDs that may not register.",
  },
  {
    name: "CAREID_WEBAUTHN_MDS_FILE",
    default: "(unset)",
    meaning:
      "FIDO Metadata Service (MDS3) BLOB file (a JWT), downloaded beforehand: its statements add attestation roots, key protection and compromise reports per AAGUID. Verified at start; never fetched.",
  },
  {
    name: "CAREID_WEBAUTHN_MDS_ROOT",
    default: "(unset)",
    meaning:
      "PEM root certificate the MDS BLOB's signing chain must reach (FIDO's is GlobalSign Root CA - R3).",
  },
  {
    name: "CAREID_SMTP_URL",
    default: "(unset)",
    meaning:
      "SMTP relay for email (smtp://user:password@host:587 or smtps://...); needs CAREID_SMTP_FROM. Unset: email goes by GOV.UK Notify if configured, else to CAREID_OUTBOX_DIR.",
  },
  { name: "CAREID_SMTP_FROM", default: "(unset)", meaning: "The From address of email sent by SMTP." },
  {
    name: "CAREID_NOTIFY_API_KEY",
    default: "(unset)",
    meaning:
      "GOV.UK Notify API key: text messages (and email, without CAREID_SMTP_URL) go through Notify; needs CAREID_NOTIFY_TEMPLATES.",
  },
  {
    name: "CAREID_NOTIFY_BASE_URL",
    default: "https://api.notifications.service.gov.uk",
    meaning: "Base URL of the Notify API (a test double or gateway may stand in).",
  },
  {
    name: "CAREID_NOTIFY_TEMPLATES",
    default: "(unset)",
    meaning: "Notify template ids by our template name, comma-separated: unlock-code=ID,enrolment-link=ID.",
  },
  {
    name: "CAREID_OUTBOX_DIR",
    default: "CAREID_DATA_DIR/outbox",
    meaning:
      "Demo and development only: with neither SMTP nor Notify set, messages are written here as files (listed at /demo/messages) instead of sent.",
  },
  {
    name: "CAREID_MESSAGE_ATTEMPTS",
    default: "8",
    meaning:
      "Attempts to deliver a queued message before it is failed; the waits between them double from 5 seconds.",
  },
  {
    name: "CAREID_UNLOCK_EMAIL_DOMAINS",
    default: "nhs.net",
    meaning:
      "Comma-separated email domains a self-service smartcard unlock code may be sent to; a profile email elsewhere is not used.",
  },
  {
    name: "CAREID_CIS1_SIGN_ASSERTIONS",
    default: "false",
    meaning:
      "Sign CIS1 role assertions (/saml/RoleAssertion) with an XML signature, by a key our issuing CA certifies; unsigned is the legacy default.",
  },
  {
    name: "CAREID_CIS1_IDLE_MINUTES",
    default: "15",
    meaning: "Minutes without a role assertion after which a CIS1 SSO token ends (AAL3: 15).",
  },
  {
    name: "CAREID_CIS1_SESSION_HOURS",
    default: "12",
    meaning: "Hours after the smartcard sign-in at which a CIS1 SSO token ends, however much it is used.",
  },
  {
    name: "CAREID_RP_ADMIN_ACTIVITY",
    default: "B9903",
    meaning:
      "Activity code whose holders register and manage their organisation's CIS2 relying parties at /cim/relying-parties (B9903 is a demo code).",
  },
  {
    name: "CAREID_RP_APPROVER_ACTIVITY",
    default: "B9904",
    meaning:
      "Activity code of the service administrators who approve production relying parties; never the person who registered one (B9904 is a demo code).",
  },
  {
    name: "CAREID_SIGNING_PKCS11_MODULE",
    default: "(unset)",
    meaning:
      "PKCS#11 module (.so) of a token to generate and hold the remote signing service's per-person keys; unset: sealed in the database.",
  },
  { name: "CAREID_SIGNING_PKCS11_TOKEN", default: "(unset)", meaning: "Label of that token." },
  { name: "CAREID_SIGNING_PKCS11_PIN", default: "(unset)", meaning: "User PIN of that token." },
  {
    name: "CAREID_SIGNING_ALLOW_RSA_SHA1",
    default: "false",
    meaning:
      "Let the prescription verifier accept legacy rsa-sha1 signatures and sha1 digests; SHA-256 has been mandatory since July 2025.",
  },
  {
    name: "CAREID_APPLY_LINK_DAYS",
    default: "14",
    meaning: "Days an Apply for Care ID invitation link works (once) before it expires.",
  },
  {
    name: "CAREID_APPLY_PHOTO_DAYS",
    default: "30",
    meaning:
      "Days after an Apply for Care ID decision that the applicant's photos are deleted (the decision and check results stay).",
  },
  { name: "CAREID_CONFIG_FILE", default: "(unset)", meaning: "Optional JSON file of the settings above." },
] as const;

export function loadConfig(environment: Source = process.env): Config {
  const source = { ...readConfigFile(environment.CAREID_CONFIG_FILE), ...definedOnly(environment) };
  const problems: string[] = [];
  const port = parsePort(source.PORT ?? "3000", problems);
  const host = parseHost(source.HOST ?? "127.0.0.1", problems);
  const databaseUrl = parseDatabaseUrl(source.DATABASE_URL, problems);
  const dataDir = resolve(source.CAREID_DATA_DIR || "./data");
  const config: Config = {
    port,
    host,
    databaseUrl,
    dataDir,
    masterKey: parseMasterKey(source, { dataDir, databaseUrl }, problems),
    logLevel: parseLogLevel(source.LOG_LEVEL ?? "info", problems),
    ldapPort: parseNamedPort("CAREID_LDAP_PORT", source.CAREID_LDAP_PORT ?? "1389", problems),
    ldapsPort: parseNamedPort("CAREID_LDAPS_PORT", source.CAREID_LDAPS_PORT ?? "1636", problems),
    ldapCertFile: source.CAREID_LDAP_CERT,
    ldapKeyFile: source.CAREID_LDAP_KEY,
    ldapAnonymous: parseLdapAnonymous(source.CAREID_LDAP_ANONYMOUS ?? "true", problems),
    issuer: "",
    developmentLogin: parseBoolean("CAREID_DEV_LOGIN", source.CAREID_DEV_LOGIN, problems),
    trustProxy: parseBoolean("CAREID_TRUST_PROXY", source.CAREID_TRUST_PROXY, problems) ?? false,
    drainSeconds: parseWholeNumber(
      "CAREID_DRAIN_SECONDS",
      source.CAREID_DRAIN_SECONDS ?? "5",
      { from: 0, to: 300, unit: "seconds" },
      problems,
    ),
    pkiUrl: "",
    cardCertificateDays: parseCardLifetime(source, problems),
    caToken: parseToken(source, "CAREID_CA", problems),
    signingToken: parseToken(source, "CAREID_SIGNING", problems),
    smartcardAgentUrl: parseAgentUrl(source.CAREID_SMARTCARD_AGENT_URL ?? "http://127.0.0.1:8765", problems),
    mtls: parseMutualTls(source, problems),
    cimClientId: source.CAREID_CIM_CLIENT_ID ?? "care-identity-management",
    cimApiClients: parseClientIds(
      source.CAREID_CIM_API_CLIENTS ?? source.CAREID_CIM_CLIENT_ID ?? "care-identity-management",
      problems,
    ),
    cimAcr: parseAcrValues(source.CAREID_CIM_ACR, problems),
    cimIdleMinutes: parseWholeNumber(
      "CAREID_CIM_IDLE_MINUTES",
      source.CAREID_CIM_IDLE_MINUTES ?? "15",
      { from: 1, to: 720, unit: "minutes" },
      problems,
    ),
    messages: parseMessageSettings(source, dataDir, problems),
    unlockEmailDomains: parseList(source.CAREID_UNLOCK_EMAIL_DOMAINS ?? "nhs.net").map((domain) =>
      domain.toLowerCase(),
    ),
    cis1: {
      idleMinutes: parseWholeNumber(
        "CAREID_CIS1_IDLE_MINUTES",
        source.CAREID_CIS1_IDLE_MINUTES ?? "15",
        { from: 1, to: 720, unit: "minutes" },
        problems,
      ),
      sessionHours: parseWholeNumber(
        "CAREID_CIS1_SESSION_HOURS",
        source.CAREID_CIS1_SESSION_HOURS ?? "12",
        { from: 1, to: 24, unit: "hours" },
        problems,
      ),
      signAssertions:
        parseBoolean("CAREID_CIS1_SIGN_ASSERTIONS", source.CAREID_CIS1_SIGN_ASSERTIONS, problems) ?? false,
    },
    relyingParties: {
      administratorActivity: parseActivityCode(
        "CAREID_RP_ADMIN_ACTIVITY",
        source.CAREID_RP_ADMIN_ACTIVITY ?? "B9903",
        problems,
      ),
      approverActivity: parseActivityCode(
        "CAREID_RP_APPROVER_ACTIVITY",
        source.CAREID_RP_APPROVER_ACTIVITY ?? "B9904",
        problems,
      ),
    },
    signingAllowRsaSha1:
      parseBoolean("CAREID_SIGNING_ALLOW_RSA_SHA1", source.CAREID_SIGNING_ALLOW_RSA_SHA1, problems) ?? false,
    apply: {
      linkDays: parseWholeNumber(
        "CAREID_APPLY_LINK_DAYS",
        source.CAREID_APPLY_LINK_DAYS ?? "14",
        { from: 1, to: 90, unit: "days" },
        problems,
      ),
      photoDays: parseWholeNumber(
        "CAREID_APPLY_PHOTO_DAYS",
        source.CAREID_APPLY_PHOTO_DAYS ?? "30",
        { from: 1, to: 3650, unit: "days" },
        problems,
      ),
    },
    webauthn: {
      attestationRootFiles: parseList(source.CAREID_WEBAUTHN_ATTESTATION_ROOTS),
      allowedAaguids: parseAaguids(
        "CAREID_WEBAUTHN_AAGUID_ALLOW",
        source.CAREID_WEBAUTHN_AAGUID_ALLOW,
        problems,
      ),
      deniedAaguids: parseAaguids(
        "CAREID_WEBAUTHN_AAGUID_DENY",
        source.CAREID_WEBAUTHN_AAGUID_DENY,
        problems,
      ),
      metadataFile: source.CAREID_WEBAUTHN_MDS_FILE,
      metadataRootFile: source.CAREID_WEBAUTHN_MDS_ROOT,
    },
  };
  config.issuer = parseIssuer(source.CAREID_ISSUER, config.port, problems);
  config.pkiUrl = parsePkiUrl(source.CAREID_PKI_URL, config.issuer, problems);
  if ((config.ldapCertFile === undefined) !== (config.ldapKeyFile === undefined))
    problems.push("CAREID_LDAP_CERT and CAREID_LDAP_KEY must be set together");
  if (config.webauthn.metadataFile !== undefined && config.webauthn.metadataRootFile === undefined)
    problems.push(
      "CAREID_WEBAUTHN_MDS_FILE needs CAREID_WEBAUTHN_MDS_ROOT, the root its signature must chain to",
    );
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
