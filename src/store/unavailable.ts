/**
 * Whether a failure means the database cannot be reached right now (restarting, failing over,
 * refusing connections), as opposed to a fault in the request or in our code. Such a failure is
 * temporary: each interface answers "unavailable, try again" (503, LDAP unavailable) and the
 * next request, on a new connection, may succeed.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, message, cause } = error as { code?: unknown; message?: unknown; cause?: unknown };
  // Wrapped on its way up (as oidc-provider's temporarily_unavailable wraps it).
  if (cause !== undefined && cause !== error && isDatabaseUnavailable(cause)) return true;
  if (typeof code === "string") {
    if (networkCodes.has(code)) return true;
    // SQLSTATE class 08: connection exception; 57P01-57P03: shut down or starting up;
    // 53300: too many connections; 25006 read-only transaction: a replica or a demoted primary.
    if (code.startsWith("08") || /^57P0[1-3]$/.test(code) || code === "53300" || code === "25006")
      return true;
  }
  return typeof message === "string" && unavailableMessages.some((pattern) => pattern.test(message));
}

const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** node-postgres reports a dropped or unobtainable connection in words, without a code. */
const unavailableMessages = [
  /^Connection terminated/,
  /connection error and is not queryable/,
  /^timeout exceeded when trying to connect/,
  /^Client was closed and is not queryable/,
  /^Cannot use a pool after calling end on the pool/,
];
