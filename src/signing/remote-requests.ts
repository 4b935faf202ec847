import { createHash, randomBytes } from "node:crypto";
import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { aalOf, type Method, methods } from "../assurance/methods.ts";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import {
  authenticationOptions,
  parseAssertion,
  verifyAssertion,
} from "../authenticators/webauthn/authentication.ts";
import type { RelyingParty } from "../authenticators/webauthn/relying-party.ts";
import { findPersonSummary } from "../people/people.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import { type KeySettings, remoteSigningKeyOf } from "./remote-keys.ts";
import { RequestTokenError, type SignatureRequestClaims } from "./request-token.ts";

/**
 * The remote signing service's journey: a client's request is kept (pending) under a token; the
 * prescriber passes a presence check with an AAL3 authenticator, which signs every payload with
 * their key (signed); the client collects the signatures once (collected). Every step is audited.
 */
export const presencePath = "/signing";

const webauthnMethods = (Object.keys(methods) as Method[]).filter((method) =>
  ["FIDO2", "IOS", "PASSKEY", "PASSKEY_SYNCED"].includes(method),
);
const aal3WebauthnMethods = webauthnMethods.filter((method) => aalOf(method) === 3);

/** Tokens are kept only as their SHA-256. */
export const tokenHash = (token: string) => createHash("sha256").update(token).digest("hex");
const clientActor = (clientId: string): Actor => ({
  kind: "system",
  id: `client:${clientId}`,
  source: "API",
});
const holderActor = (holder: string): Actor => ({ kind: "person", id: holder, source: "SIGNING" });

export async function createSignatureRequest(
  queryable: Queryable,
  claims: SignatureRequestClaims,
  serviceOrigin: string,
): Promise<{ token: string; redirectUri: string }> {
  const token = randomBytes(32).toString("base64url");
  return inTransaction(queryable, async (tx) => {
    const person = await findPersonSummary(tx, claims.holder);
    if (person?.status !== "active")
      throw new RequestTokenError(
        "unknown-subject",
        400,
        `sub: ${claims.holder} is not an active Care Identity profile`,
      );
    const inserted = await tx
      .insertInto("signature_requests")
      .values({
        token_hash: tokenHash(token),
        request_hash: claims.requestHash,
        client_id: claims.clientId,
        holder: claims.holder,
        items: JSON.stringify(claims.items),
        status: "pending",
        expires_at: claims.expiresAt,
      })
      .onConflict((conflict) => conflict.column("request_hash").doNothing())
      .returning("token_hash")
      .execute();
    if (inserted.length === 0)
      throw new RequestTokenError(
        "replayed-request",
        409,
        "This signature request JWT has been used already",
      );
    await recordEvent(tx, clientActor(claims.clientId), {
      action: "signing.requested",
      subject: { type: "person", id: claims.holder },
      after: { items: claims.items.length, expiresAt: claims.expiresAt },
    });
    return { token, redirectUri: `${serviceOrigin}${presencePath}/${token}` };
  });
}

type PendingRequest = {
  tokenHash: string;
  clientId: string;
  holder: string;
  itemCount: number;
  challenge: string | null;
  /** SHA-256 of each payload (base64), what a smartcard signs through the agent. */
  digests: string[];
};

/** A request still open for signing, or the refusal that says why not. */
export function refuseUnlessPending<Row extends { status: string; expires_at: Date }>(
  row: Row | undefined,
  now: Date,
): asserts row is Row {
  if (!row)
    throw new RequestTokenError("unknown-token", 404, "There is no signature request with this token");
  if (row.status !== "pending")
    throw new RequestTokenError("already-signed", 409, "These items have been signed already");
  if (row.expires_at < now)
    throw new RequestTokenError(
      "expired",
      410,
      "This signature request has expired: ask the application to send it again",
    );
}

async function pendingRequest(queryable: Queryable, token: string, now: Date): Promise<PendingRequest> {
  const row = await queryable
    .selectFrom("signature_requests")
    .select(["token_hash", "client_id", "holder", "items", "status", "expires_at", "challenge"])
    .where("token_hash", "=", tokenHash(token))
    .executeTakeFirst();
  refuseUnlessPending(row, now);
  return {
    tokenHash: row.token_hash,
    clientId: row.client_id,
    holder: row.holder,
    itemCount: row.items.length,
    challenge: row.challenge,
    digests: row.items.map((item) =>
      createHash("sha256").update(Buffer.from(item.payload, "base64")).digest("base64"),
    ),
  };
}

/** The presence check's WebAuthn options, for the holder's AAL3 authenticators; the challenge is kept. */
export async function beginPresenceCheck(
  queryable: Queryable,
  relyingParty: RelyingParty,
  token: string,
  now = new Date(),
): Promise<{ request: PendingRequest; options: PublicKeyCredentialRequestOptionsJSON; hasCard: boolean }> {
  const request = await pendingRequest(queryable, token, now);
  const options = await authenticationOptions(queryable, relyingParty, request.holder, aal3WebauthnMethods);
  const card = await queryable
    .selectFrom("smartcards")
    .select("serial")
    .where("holder", "=", request.holder)
    .where("status", "=", "active")
    .executeTakeFirst();
  await queryable
    .updateTable("signature_requests")
    .set({ challenge: options.challenge })
    .where("token_hash", "=", request.tokenHash)
    .execute();
  return { request, options, hasCard: card !== undefined };
}

export type PresenceOutcome =
  | { signed: true; count: number; clientId: string }
  | { signed: false; status: number; message: string };

/**
 * Verifies the presence check and, at AAL3 only, signs every payload. The challenge is spent
 * first, so an assertion cannot be replayed; an AAL2 authenticator (a synced passkey) proves
 * who the holder is but not enough to sign, and is refused and recorded.
 */
export async function completePresenceCheck(
  queryable: Queryable,
  relyingParty: RelyingParty,
  keys: KeySettings,
  token: string,
  responseJson: string,
  now = new Date(),
): Promise<PresenceOutcome> {
  const request = await pendingRequest(queryable, token, now);
  const spent = await queryable
    .updateTable("signature_requests")
    .set({ challenge: null })
    .where("token_hash", "=", request.tokenHash)
    .where("challenge", "=", request.challenge ?? "")
    .returning("challenge")
    .executeTakeFirst();
  const actor = holderActor(request.holder);
  const outcome = await verifyAssertion(queryable, actor, relyingParty, {
    uuid: request.holder,
    methods: webauthnMethods,
    challenge: spent ? (request.challenge ?? undefined) : undefined,
    response: parseAssertion(responseJson),
  });
  if (!outcome.accepted) return { signed: false, status: 400, message: outcome.message };
  if (aalOf(outcome.method) < 3) {
    await inTransaction(queryable, (tx) =>
      recordEvent(tx, actor, {
        action: "signing.presence-refused",
        subject: { type: "person", id: request.holder },
        after: { method: outcome.method, aal: aalOf(outcome.method), client: request.clientId },
      }),
    );
    return {
      signed: false,
      status: 403,
      message: `Signing needs an AAL3 authenticator (a security key, Windows Hello or a smartcard); ${methods[outcome.method].label} is AAL${aalOf(outcome.method)}.`,
    };
  }
  const key = await remoteSigningKeyOf(queryable, actor, keys, request.holder);
  return inTransaction(queryable, async (tx) => {
    const row = await tx
      .selectFrom("signature_requests")
      .select(["items", "status"])
      .where("token_hash", "=", request.tokenHash)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (row.status !== "pending")
      return { signed: false as const, status: 409, message: "These items have been signed already." };
    const signatures = key
      .sign(row.items.map((item) => Buffer.from(item.payload, "base64")))
      .map((signature, index) => ({
        id: row.items[index]?.id as string,
        signature: signature.toString("base64"),
      }));
    await tx
      .updateTable("signature_requests")
      .set({
        status: "signed",
        signatures: JSON.stringify(signatures),
        certificate_serial: key.serial,
        signed_at: now,
      })
      .where("token_hash", "=", request.tokenHash)
      .execute();
    await recordEvent(tx, actor, {
      action: "signing.signed",
      subject: { type: "person", id: request.holder },
      after: {
        client: request.clientId,
        items: signatures.length,
        method: outcome.method,
        certificate: key.serial,
      },
    });
    return { signed: true as const, count: signatures.length, clientId: request.clientId };
  });
}

export type Collected =
  | { status: "pending" }
  | { status: "signed"; signatures: Array<{ id: string; signature: string }>; certificate: string };

/** The signatures, once: a second collection (a replayed token) is refused. */
export async function collectSignatures(
  queryable: Queryable,
  token: string,
  now = new Date(),
): Promise<Collected> {
  return inTransaction(queryable, async (tx) => {
    const row = await tx
      .selectFrom("signature_requests")
      .select([
        "token_hash",
        "client_id",
        "holder",
        "status",
        "expires_at",
        "signatures",
        "certificate_serial",
      ])
      .where("token_hash", "=", tokenHash(token))
      .forUpdate()
      .executeTakeFirst();
    if (!row)
      throw new RequestTokenError("unknown-token", 404, "There is no signature request with this token");
    if (row.status === "collected")
      throw new RequestTokenError("already-collected", 410, "These signatures have been collected already");
    if (row.status === "pending") {
      if (row.expires_at < now)
        throw new RequestTokenError("expired", 410, "This signature request expired unsigned");
      return { status: "pending" };
    }
    const certificate = await tx
      .selectFrom("pki_certificates")
      .select("certificate")
      .where("serial", "=", row.certificate_serial ?? "")
      .executeTakeFirstOrThrow();
    await tx
      .updateTable("signature_requests")
      .set({ status: "collected", collected_at: now, signatures: null })
      .where("token_hash", "=", row.token_hash)
      .execute();
    await recordEvent(tx, clientActor(row.client_id), {
      action: "signing.collected",
      subject: { type: "person", id: row.holder },
      after: { items: row.signatures?.length ?? 0 },
    });
    return {
      status: "signed",
      signatures: row.signatures ?? [],
      certificate: Buffer.from(certificate.certificate).toString("base64"),
    };
  });
}
