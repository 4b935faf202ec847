import { errors } from "oidc-provider";
import { isDatabaseUnavailable } from "../store/unavailable.ts";

/**
 * The OAuth answer while the database is away (RFC 6749 section 4.1.2.1's
 * `temporarily_unavailable`, status 503): the authorization endpoint sends it back to the
 * relying party, the other endpoints answer it as JSON, and sign-in pages show it. oidc-provider
 * would otherwise answer any such failure as a 500 `server_error`.
 */
class TemporarilyUnavailable extends errors.OIDCProviderError {
  override error_description = "The service cannot reach its database for a moment; try again shortly";
  constructor(cause: unknown) {
    super(503, "temporarily_unavailable", { cause });
    // oidc-provider shows only errors it is told to expose; this one says nothing internal.
    this.expose = true;
  }
}

export async function orUnavailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof TemporarilyUnavailable || !isDatabaseUnavailable(error)) throw error;
    throw new TemporarilyUnavailable(error);
  }
}

/** The same for every method of a provider adapter class, where most of the provider's reads and writes go. */
export function reportingUnavailability<Adapter extends abstract new (...args: never[]) => object>(
  adapter: Adapter,
): Adapter {
  const prototype = adapter.prototype as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(prototype)) {
    const method = prototype[name];
    if (name === "constructor" || typeof method !== "function") continue;
    prototype[name] = function (this: unknown, ...args: unknown[]) {
      return orUnavailable(() => (method as (...args: unknown[]) => Promise<unknown>).apply(this, args));
    };
  }
  return adapter;
}
