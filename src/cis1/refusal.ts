import { DomainError } from "../errors.ts";

/**
 * Why a CIS1 token is not honoured. Each face says it in its own convention: a SAML status at
 * the role assertion, `boolean=false` at isTokenValid, problem+json on the agent's API.
 */
export type TokenRefusalReason =
  | "malformed-token"
  | "unknown-token"
  | "expired-token"
  | "role-not-selected"
  | "card-not-active"
  | "holder-not-active";

const messages: Record<TokenRefusalReason, string> = {
  "malformed-token": "The token is missing or is not an SSO token",
  "unknown-token":
    "The token is not known: it never existed, or its session ended (card removed or signed out)",
  "expired-token": "The token's session has expired: sign in with the smartcard again",
  "role-not-selected": "The holder has not yet chosen the role to act in for this session",
  "card-not-active":
    "The smartcard of this session is no longer active (cancelled, lost, stolen, locked or expired)",
  "holder-not-active": "The profile of this session's holder is closed or suspended",
};

export class TokenRefused extends DomainError {
  readonly reason: TokenRefusalReason;
  constructor(reason: TokenRefusalReason) {
    super(reason, messages[reason]);
    this.reason = reason;
  }
}
