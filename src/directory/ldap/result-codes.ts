/** LDAP result codes (RFC 4511 appendix A) that this server sends. */
export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  other: 80,
} as const;

export type ResultCodeValue = (typeof ResultCode)[keyof typeof ResultCode];

/**
 * A failed operation that knows its wire form: the result code, the matched DN (for
 * noSuchObject, the deepest entry that does exist) and a message safe to show the client.
 */
export class LdapError extends Error {
  readonly resultCode: ResultCodeValue;
  readonly matchedDn: string;
  constructor(resultCode: ResultCodeValue, message: string, matchedDn = "") {
    super(message);
    this.resultCode = resultCode;
    this.matchedDn = matchedDn;
  }
}
