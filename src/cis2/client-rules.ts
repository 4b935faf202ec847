import { Problems } from "../errors.ts";

/**
 * The rules NHS England's onboarding applies to a relying party, checked the same way wherever
 * one is registered: `careid clients add`, the relying-party pages, and Dynamic Client
 * Registration. oidc-provider checks the RFC 7591 shape afterwards; these are CIS2's own.
 */
export type Environment = "development" | "production";

export const environments: readonly Environment[] = ["development", "production"];

/**
 * `national`: the form this service gives the relying parties it registers itself
 * (12 digits, `.apps.national`). `registry`: what an operator may also name, CIS2's
 * `NNNNN.apps.supplier` and the service's own first-party ids.
 */
export type ClientIdForm = "national" | "registry";

const clientIdForms: Record<ClientIdForm, { pattern: RegExp; example: string }> = {
  national: { pattern: /^[0-9]{12}\.apps\.national$/, example: "999999999999.apps.national" },
  registry: {
    pattern: /^[0-9]{3,20}\.apps\.(national|supplier|local)$|^[A-Za-z0-9._-]{3,100}$/,
    example: "999999999999.apps.national or NNNNN.apps.supplier",
  },
};

/** The acr only the development realm offers. */
const developmentOnlyAcr = "AAL1_USERPASS";

export type JwksFetcher = (url: string) => Promise<unknown>;

/** Reads a relying party's published keys, briefly: a registration waits for it. */
export const fetchJwks: JwksFetcher = async (url) => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: "error" });
  if (!response.ok) throw new Error(`answered HTTP ${response.status}`);
  return response.json();
};

export type RuleOptions = {
  environment: Environment;
  clientIdForm: ClientIdForm;
  fetchJwks?: JwksFetcher;
};

export function newNationalClientId(randomDigits: () => string): string {
  return `${randomDigits()}.apps.national`;
}

/** Every rule at once: the problems name each field at fault (InvalidInputError). */
export async function checkRelyingPartyRules(
  metadata: Record<string, unknown>,
  options: RuleOptions,
): Promise<void> {
  const problems = new Problems();
  const { environment } = options;
  if (!environments.includes(environment)) problems.add("environment", "must be development or production");
  const form = clientIdForms[options.clientIdForm];
  if (typeof metadata.client_id !== "string" || !form.pattern.test(metadata.client_id))
    problems.add("client_id", `must look like ${form.example}`);
  checkUris(problems, "redirect_uris", metadata.redirect_uris, environment, true);
  checkUris(problems, "post_logout_redirect_uris", metadata.post_logout_redirect_uris, environment, false);
  if (metadata.backchannel_logout_uri !== undefined)
    checkUris(problems, "backchannel_logout_uri", [metadata.backchannel_logout_uri], environment, false);
  const acrs = metadata.default_acr_values;
  if (environment === "production" && Array.isArray(acrs) && acrs.includes(developmentOnlyAcr))
    problems.add("default_acr_values", `must not include ${developmentOnlyAcr}: development clients only`);
  if ((metadata.token_endpoint_auth_method ?? "private_key_jwt") === "private_key_jwt")
    await checkKeys(problems, metadata, environment, options.fetchJwks ?? fetchJwks);
  problems.throwIfAny();
}

/**
 * Absolute URIs without wildcards or fragments; https, except plain http in development (where
 * relying parties run on a developer's own machine).
 */
function checkUris(
  problems: Problems,
  field: string,
  value: unknown,
  environment: Environment,
  required: boolean,
): void {
  if (value === undefined && !required) return;
  if (!Array.isArray(value) || (required && value.length === 0)) {
    problems.add(field, required ? "must list at least one URI" : "must be a list of URIs");
    return;
  }
  for (const uri of value) {
    const problem = uriProblem(uri, environment);
    if (problem) {
      problems.add(field, `${problem}: ${String(uri).slice(0, 200)}`);
      return;
    }
  }
}

function uriProblem(uri: unknown, environment: Environment): string | undefined {
  if (typeof uri !== "string" || !URL.canParse(uri)) return "must be absolute URIs";
  if (uri.includes("*")) return "must not contain wildcards";
  const url = new URL(uri);
  if (url.hash) return "must not have a fragment";
  if (url.protocol === "https:") return undefined;
  if (url.protocol === "http:" && environment === "development") return undefined;
  return environment === "development" ? "must be http or https" : "must be https outside development";
}

/** private_key_jwt needs keys to check assertions with: at least one RSA signing key (RS256). */
async function checkKeys(
  problems: Problems,
  metadata: Record<string, unknown>,
  environment: Environment,
  fetcher: JwksFetcher,
): Promise<void> {
  const { jwks, jwks_uri: jwksUri } = metadata;
  if (jwks !== undefined && jwksUri !== undefined) {
    problems.add("jwks", "give the keys one way: jwks or jwks_uri, not both");
    return;
  }
  if (jwks === undefined && jwksUri === undefined) {
    problems.add("jwks", "private_key_jwt needs the client's public keys: jwks or jwks_uri");
    return;
  }
  if (jwksUri !== undefined) {
    const problem = uriProblem(jwksUri, environment);
    if (problem) {
      problems.add("jwks_uri", problem.replace("URIs", "a URI"));
      return;
    }
    let fetched: unknown;
    try {
      fetched = await fetcher(String(jwksUri));
    } catch (error) {
      problems.add("jwks_uri", `could not be read (${(error as Error).message})`);
      return;
    }
    if (!holdsRsaSigningKey(fetched)) problems.add("jwks_uri", "must publish an RSA signing key for RS256");
    return;
  }
  if (holdsPrivateKey(jwks)) problems.add("jwks", "must hold public keys only: a private key was pasted");
  else if (!holdsRsaSigningKey(jwks)) problems.add("jwks", "must hold an RSA signing key for RS256");
}

function holdsPrivateKey(jwks: unknown): boolean {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  return Array.isArray(keys) && keys.some((key) => (key as Record<string, unknown> | null)?.d !== undefined);
}

function holdsRsaSigningKey(jwks: unknown): boolean {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return false;
  return keys.some((key) => {
    const { kty, use, alg, n, e, d } = (key ?? {}) as Record<string, unknown>;
    return (
      kty === "RSA" &&
      typeof n === "string" &&
      typeof e === "string" &&
      d === undefined &&
      // 2048 bits or more: base64url of 256 bytes is 342 characters.
      n.length >= 342 &&
      (use === undefined || use === "sig") &&
      (alg === undefined || (typeof alg === "string" && /^(RS|PS)(256|384|512)$/.test(alg)))
    );
  });
}

/**
 * The environment an operator's client file names; production unless it says development, so a
 * file written without thinking gets the stricter rules. A wrong value is left for the rules to name.
 */
export function environmentOf(metadata: unknown): Environment {
  const named = (metadata as { environment?: unknown } | null)?.environment;
  return (named === undefined ? "production" : named) as Environment;
}
