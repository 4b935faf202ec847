import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { FirstPartySession } from "./sessions.ts";

/**
 * Every form of a first-party app carries a token: a random nonce and its HMAC under the session's own secret
 * (a synchroniser token: another site cannot make one, so a forged post is refused). The nonce
 * is also the action's submission id, which CIM's domain accepts once only, in the same
 * transaction as the change: a double click or a resent form cannot act twice.
 */
export const formTokenField = "_form";

function mac(session: FirstPartySession, nonce: string): string {
  return createHmac("sha256", session.formSecret).update(nonce).digest("base64url");
}

export function issueFormToken(session: FirstPartySession): string {
  const nonce = randomBytes(16).toString("base64url");
  return `${nonce}.${mac(session, nonce)}`;
}

/** Whether this session made the token. */
export function formTokenValid(session: FirstPartySession, token: unknown): token is string {
  if (typeof token !== "string") return false;
  const [nonce, given, extra] = token.split(".");
  if (!nonce || !given || extra !== undefined) return false;
  const expected = Buffer.from(mac(session, nonce));
  const actual = Buffer.from(given);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** The submission id a valid form token carries. */
export function submissionIdOf(token: string): string {
  return token.split(".")[0] ?? "";
}
