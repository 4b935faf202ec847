import {
  type AuthenticationResponseJSON,
  generateAuthenticationOptions,
  type PublicKeyCredentialRequestOptionsJSON,
  verifyAuthenticationResponse,
} from "@simplewebauthn/server";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import { type OperationNodeSource, type RawBuilder, sql } from "kysely";
import { isMethod, type Method } from "../../assurance/methods.ts";
import type { Actor } from "../../audit/actor.ts";
import { type AuditEvent, recordEvent, recordEvents } from "../../audit/record.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import type { RelyingParty } from "./relying-party.ts";

/** What a caller records and writes with an accepted assertion, in its statement. */
export type Recording = { events: AuditEvent[]; writes: OperationNodeSource[] };

export type AssertionRefusal = "malformed" | "unknown-credential" | "not-verified" | "cloned";
export type AssertionOutcome =
  | { accepted: true; method: Method }
  | { accepted: false; reason: AssertionRefusal; message: string };

/** A credential as a ceremony offers it: read with the person where they are identified. */
export type OfferedCredential = { credential_id: string; method: string; transports: string[] | null };

/** A person's credentials as a ceremony offers them, a JSON column for a query that reads the person. */
export function offeredCredentials(uuid: RawBuilder<unknown>): RawBuilder<OfferedCredential[]> {
  return sql<
    OfferedCredential[]
  >`(SELECT coalesce(json_agg(json_build_object('credential_id', c.credential_id,
    'method', c.method, 'transports', c.transports)), '[]') FROM webauthn_credentials c WHERE c.uuid = ${uuid})`;
}

/**
 * A sign-in ceremony for one person: only their credentials of the methods this sign-in accepts
 * (`held`, when the caller read them already; else read here).
 */
export async function authenticationOptions(
  queryable: Queryable,
  relyingParty: RelyingParty,
  uuid: string,
  methods: Method[],
  held?: OfferedCredential[],
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const credentials = held
    ? held.filter((credential) => (methods as string[]).includes(credential.method))
    : await credentialsOf(queryable, uuid, methods);
  return generateAuthenticationOptions({
    rpID: relyingParty.id,
    userVerification: "required",
    allowCredentials: credentials.map((credential) => ({
      id: credential.credential_id,
      transports: credential.transports as never,
    })),
  });
}

async function credentialsOf(queryable: Queryable, uuid: string, methods: Method[]) {
  if (methods.length === 0) return [];
  return queryable
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("uuid", "=", uuid)
    .where("method", "in", methods)
    .execute();
}

export const unregisteredSecurityKey = "This security key is not registered to you for this sign-in.";

/**
 * Verifies an assertion against the challenge this sign-in issued, in one transaction that holds
 * the credential's row from its read to its new counter, so two nodes cannot both accept the same
 * count. After the signature, the signs of a copied key: a counter that does not rise, or a
 * backup eligibility that differs from the one registered (a device-bound credential that now
 * says it can be synced was exported, or the signer is another authenticator). Either is refused
 * and recorded as a suspected clone. An accepted assertion's counter, its record and the caller's
 * records and writes (`alsoRecord`: a sign-in's record and its result) are one statement.
 */
export async function verifyAssertion(
  queryable: Queryable,
  actor: Actor,
  relyingParty: RelyingParty,
  attempt: {
    uuid: string;
    methods: Method[];
    challenge: string | undefined;
    response: Assertion;
    /** The credential as `lockedCredentialRead` read it in the caller's transaction, if it did. */
    lockedCredential?: { row: StoredCredential | null | undefined };
  },
  alsoRecord: (method: Method) => Promise<Recording> = async () => ({ events: [], writes: [] }),
): Promise<AssertionOutcome> {
  const subject = { type: "person", id: attempt.uuid };
  return inTransaction(queryable, async (tx) => {
    const refuse = async (reason: AssertionRefusal, message: string, after: Record<string, unknown> = {}) => {
      await recordEvent(tx, actor, {
        action: reason === "cloned" ? "webauthn.clone-suspected" : "webauthn.sign-in-refused",
        subject,
        after: { reason, ...after },
      });
      return { accepted: false as const, reason, message };
    };
    const { response } = attempt;
    if (response === undefined)
      return refuse("malformed", "Use your security key when your browser asks for it.");
    const credential = attempt.lockedCredential
      ? (attempt.lockedCredential.row ?? undefined)
      : await lockedCredentialRead(tx, attempt.uuid, attempt.methods, response)?.executeTakeFirst();
    if (!credential || !isMethod(credential.method) || !attempt.challenge)
      return refuse("unknown-credential", unregisteredSecurityKey, {
        credential: String(response?.id ?? "").slice(0, 64),
      });
    let signed: { counter: number; deviceType: string; backedUp: boolean };
    try {
      const result = await verifyAuthenticationResponse({
        response,
        expectedChallenge: attempt.challenge,
        expectedOrigin: relyingParty.origin,
        expectedRPID: relyingParty.id,
        // The counter is checked below, where a failure can be told apart and recorded as a
        // suspected clone; passing 0 leaves the library checking only the signature.
        credential: {
          id: credential.credential_id,
          publicKey: isoBase64URL.toBuffer(credential.public_key),
          counter: 0,
          transports: credential.transports,
        },
        requireUserVerification: true,
      });
      if (!result.verified)
        return refuse("not-verified", "Your security key could not be verified. Try again.");
      const info = result.authenticationInfo;
      signed = {
        counter: info.newCounter,
        deviceType: info.credentialDeviceType,
        backedUp: info.credentialBackedUp,
      };
    } catch (error) {
      return refuse("not-verified", "Your security key could not be verified. Try again.", {
        detail: (error as Error).message.slice(0, 200),
      });
    }
    const clue = cloneClue(credential, signed);
    if (clue)
      return refuse(
        "cloned",
        "This security key cannot be used: it may have been copied. Contact your Registration Authority.",
        { credential: credential.credential_id, ...clue },
      );
    const method = credential.method;
    const accepted: AuditEvent = {
      actor,
      entry: {
        action: "webauthn.assertion-accepted",
        subject,
        after: { credential: credential.credential_id, method, counter: signed.counter },
      },
    };
    const also = await alsoRecord(method);
    await recordEvents(
      tx,
      [accepted, ...also.events],
      [
        tx
          .updateTable("webauthn_credentials")
          .set({ counter: signed.counter, backed_up: signed.backedUp, last_used_at: new Date() })
          .where("credential_id", "=", credential.credential_id),
        ...also.writes,
      ],
    );
    return { accepted: true as const, method };
  });
}

type StoredCredential = {
  credential_id: string;
  method: string;
  public_key: string;
  counter: number;
  transports: string[];
  device_type: string;
};

/** An assertion as the browser sent it; undefined when it is not JSON. */
export type Assertion = AuthenticationResponseJSON | undefined;

export function parseAssertion(responseJson: string): Assertion {
  try {
    return JSON.parse(responseJson) as AuthenticationResponseJSON;
  } catch {
    return undefined;
  }
}

/**
 * The read of the person's credential an assertion names, of a method this sign-in accepts,
 * locked; a caller may make it in a statement of its own (with its throttle counters). Undefined
 * when the assertion names none.
 */
export function lockedCredentialRead(
  queryable: Queryable,
  uuid: string,
  methods: Method[],
  response: Assertion,
) {
  const credentialId = (response as { id?: unknown } | null | undefined)?.id;
  if (methods.length === 0 || typeof credentialId !== "string") return undefined;
  return queryable
    .selectFrom("webauthn_credentials")
    .selectAll()
    .where("credential_id", "=", credentialId)
    .where("uuid", "=", uuid)
    .where("method", "in", methods)
    .forUpdate();
}

/** Why a verified assertion still looks like it came from a copy of the credential, if it does. */
export function cloneClue(
  stored: { counter: number; device_type: string },
  signed: { counter: number; deviceType: string },
): Record<string, unknown> | undefined {
  if (signed.deviceType !== stored.device_type)
    return {
      reason: "backup-eligibility-changed",
      registered: stored.device_type,
      signed: signed.deviceType,
    };
  if ((signed.counter > 0 || stored.counter > 0) && signed.counter <= stored.counter)
    return { reason: "counter-not-increased", counter: signed.counter, expectedAbove: stored.counter };
  return undefined;
}
