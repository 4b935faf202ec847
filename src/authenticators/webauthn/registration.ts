import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import type { Method } from "../../cis2/assurance.ts";
import { InvalidInputError } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import { consumeEnrolmentLink, type EnrolmentLink, holdCeremony } from "../enrolment/links.ts";
import type { RelyingParty } from "./relying-party.ts";

/**
 * Registering a security key or passkey from an enrolment link. User verification (PIN or
 * biometric) is required, so the credential alone is two factors, as AAL3 needs.
 */
export async function registrationOptions(
  queryable: Queryable,
  relyingParty: RelyingParty,
  link: EnrolmentLink,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const person = await queryable
    .selectFrom("people")
    .select(["given_name", "family_name"])
    .where("uuid", "=", link.uuid)
    .executeTakeFirstOrThrow();
  const existing = await queryable
    .selectFrom("webauthn_credentials")
    .select(["credential_id", "transports"])
    .where("uuid", "=", link.uuid)
    .execute();
  const options = await generateRegistrationOptions({
    rpName: relyingParty.name,
    rpID: relyingParty.id,
    userName: link.uuid,
    userID: new TextEncoder().encode(link.uuid),
    userDisplayName: `${person.given_name} ${person.family_name}`,
    attestationType: "none",
    excludeCredentials: existing.map((credential) => ({
      id: credential.credential_id,
      transports: credential.transports,
    })),
    authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
    supportedAlgorithmIDs: [-7, -257],
  });
  await holdCeremony(queryable, link, { challenge: options.challenge });
  return options;
}

/**
 * The method a new credential signs in as. A backup-eligible (multi-device) credential can be
 * copied to other devices, so it is a synced passkey at AAL2; anything else is a hardware-bound
 * FIDO2 authenticator at AAL3.
 */
export function methodOfCredential(deviceType: "singleDevice" | "multiDevice"): Method {
  return deviceType === "multiDevice" ? "PASSKEY_SYNCED" : "FIDO2";
}

export async function registerCredential(
  queryable: Queryable,
  relyingParty: RelyingParty,
  link: EnrolmentLink,
  responseJson: string,
  correlationId?: string,
): Promise<{ method: Method }> {
  const actor: Actor = { kind: "person", id: link.uuid, source: "ENROLMENT", correlationId };
  const verified = await verifyRegistration(relyingParty, link, responseJson);
  if (!verified.ok) {
    await inTransaction(queryable, (tx) =>
      recordEvent(tx, actor, {
        action: "webauthn.registration-refused",
        subject: { type: "person", id: link.uuid },
        after: { reason: verified.reason },
      }),
    );
    throw InvalidInputError.field("credential", "Your security key could not be registered. Try again.");
  }
  const { credential, aaguid, credentialDeviceType, credentialBackedUp } = verified.info;
  const method = methodOfCredential(credentialDeviceType);
  await inTransaction(queryable, async (tx) => {
    await consumeEnrolmentLink(tx, link);
    const taken = await tx
      .selectFrom("webauthn_credentials")
      .select("uuid")
      .where("credential_id", "=", credential.id)
      .executeTakeFirst();
    if (taken) throw InvalidInputError.field("credential", "This security key is already registered.");
    await tx
      .insertInto("webauthn_credentials")
      .values({
        credential_id: credential.id,
        uuid: link.uuid,
        method,
        public_key: isoBase64URL.fromBuffer(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports ?? [],
        aaguid,
        device_type: credentialDeviceType,
        backed_up: credentialBackedUp,
      })
      .execute();
    await recordEvent(tx, actor, {
      action: "webauthn.registered",
      subject: { type: "person", id: link.uuid },
      after: { credential: credential.id, method, aaguid, deviceType: credentialDeviceType },
    });
  });
  return { method };
}

async function verifyRegistration(relyingParty: RelyingParty, link: EnrolmentLink, responseJson: string) {
  if (!link.pendingChallenge) return { ok: false as const, reason: "no-challenge" };
  try {
    const result = await verifyRegistrationResponse({
      response: JSON.parse(responseJson) as RegistrationResponseJSON,
      expectedChallenge: link.pendingChallenge,
      expectedOrigin: relyingParty.origin,
      expectedRPID: relyingParty.id,
      requireUserVerification: true,
    });
    if (!result.verified || !result.registrationInfo) return { ok: false as const, reason: "not-verified" };
    return { ok: true as const, info: result.registrationInfo };
  } catch (error) {
    return { ok: false as const, reason: (error as Error).message.slice(0, 200) };
  }
}
