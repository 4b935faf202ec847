import {
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type RegistrationResponseJSON,
  type VerifiedRegistrationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import { aalOf, type Method } from "../../assurance/methods.ts";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { InvalidInputError } from "../../errors.ts";
import { findPersonSummary } from "../../people/people.ts";
import { inTransaction, type Queryable, type Tx } from "../../store/database.ts";
import { type AttestationFinding, judgeAttestation } from "./attestation/evaluation.ts";
import type { AttestationPolicy } from "./attestation/policy.ts";
import { type AuthenticatorKind, authenticatorKinds, kindOf, methodOf } from "./classification.ts";
import type { RelyingParty } from "./relying-party.ts";

/**
 * Registering a security key, Windows Hello, an iPad or a passkey. User verification (PIN or
 * biometric) is required, so the credential alone is two factors. Direct attestation is asked
 * for, so the authenticator can prove its model and that its key is bound to hardware; a
 * browser may still withhold it, and the credential then counts as a passkey at AAL2.
 */
export async function registrationOptions(
  queryable: Queryable,
  relyingParty: RelyingParty,
  uuid: string,
): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const person = await findPersonSummary(queryable, uuid);
  if (!person) throw new Error(`No Care Identity profile has UUID ${uuid}`);
  const existing = await queryable
    .selectFrom("webauthn_credentials")
    .select(["credential_id", "transports"])
    .where("uuid", "=", uuid)
    .execute();
  return generateRegistrationOptions({
    rpName: relyingParty.name,
    rpID: relyingParty.id,
    userName: uuid,
    userID: new TextEncoder().encode(uuid),
    userDisplayName: `${person.givenName} ${person.familyName}`,
    attestationType: "direct",
    excludeCredentials: existing.map((credential) => ({
      id: credential.credential_id,
      transports: credential.transports as never,
    })),
    authenticatorSelection: { residentKey: "preferred", userVerification: "required" },
    supportedAlgorithmIDs: [-7, -257],
  });
}

/** One registration in progress: whose, its challenge, and what allowed it. */
export type RegistrationCeremony = {
  uuid: string;
  challenge: string | null;
  actor: Actor;
  /** The highest AAL the new credential may give: that of the sign-in adding it (3 from an enrolment link). */
  maxAal: number;
  /** Uses up what allowed the ceremony (an enrolment link), inside the registration's transaction. */
  claim(tx: Tx): Promise<void>;
};

export async function registerCredential(
  queryable: Queryable,
  relyingParty: RelyingParty,
  policy: AttestationPolicy,
  ceremony: RegistrationCeremony,
  responseJson: string,
): Promise<{ method: Method; kind: AuthenticatorKind }> {
  const refuse = async (reason: string, message: string, after: Record<string, unknown> = {}) => {
    await inTransaction(queryable, (tx) =>
      recordEvent(tx, ceremony.actor, {
        action: "webauthn.registration-refused",
        subject: { type: "person", id: ceremony.uuid },
        after: { reason, ...after },
      }),
    );
    return InvalidInputError.field("credential", message);
  };
  const assessed = await assessRegistration(relyingParty, policy, ceremony.challenge, responseJson);
  if (!assessed.ok)
    throw await refuse(assessed.reason, "Your authenticator could not be registered. Try again.");
  const { info, finding, kind, method } = assessed;
  const { credential, aaguid, credentialDeviceType, credentialBackedUp } = info;
  if (finding.refusal)
    throw await refuse(finding.refusal.reason, finding.refusal.message, {
      aaguid,
      attestation: finding.attestation,
    });
  const classified = { kind, method, aaguid, attestation: finding.attestation, format: info.fmt };
  if (aalOf(method) > ceremony.maxAal)
    throw await refuse(
      "above-session-aal",
      `You signed in at AAL${ceremony.maxAal}, so you can add authenticators up to AAL${ceremony.maxAal}. This one would be AAL${aalOf(method)}: sign in with an authenticator at that level first.`,
      classified,
    );
  await inTransaction(queryable, async (tx) => {
    await ceremony.claim(tx);
    const taken = await tx
      .selectFrom("webauthn_credentials")
      .select("uuid")
      .where("credential_id", "=", credential.id)
      .executeTakeFirst();
    if (taken) throw InvalidInputError.field("credential", "This authenticator is already registered.");
    await tx
      .insertInto("webauthn_credentials")
      .values({
        credential_id: credential.id,
        uuid: ceremony.uuid,
        method,
        kind,
        name: authenticatorKinds[kind].label,
        attestation: finding.attestation,
        attestation_format: info.fmt,
        public_key: isoBase64URL.fromBuffer(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports ?? [],
        aaguid,
        device_type: credentialDeviceType,
        backed_up: credentialBackedUp,
      })
      .execute();
    await recordEvent(tx, ceremony.actor, {
      action: "webauthn.registered",
      subject: { type: "person", id: ceremony.uuid },
      after: { credential: credential.id, ...classified, deviceType: credentialDeviceType },
    });
  });
  return { method, kind };
}

type RegistrationInfo = NonNullable<VerifiedRegistrationResponse["registrationInfo"]>;

type Verification = { ok: true; info: RegistrationInfo; attachment?: string } | { ok: false; reason: string };

export type Assessment =
  | { ok: true; info: RegistrationInfo; finding: AttestationFinding; kind: AuthenticatorKind; method: Method }
  | { ok: false; reason: string };

/**
 * What a registration response proves, before anything is stored: its signatures verified, its
 * attestation judged against policy (a refusal is in the finding), and the credential's kind and
 * method from that evidence.
 */
export async function assessRegistration(
  relyingParty: RelyingParty,
  policy: AttestationPolicy,
  challenge: string | null,
  responseJson: string,
): Promise<Assessment> {
  const verified = await verifyRegistration(relyingParty, challenge, responseJson);
  if (!verified.ok) return verified;
  const { info } = verified;
  const finding = await judgeAttestation(policy, info);
  const evidence = {
    format: info.fmt,
    aaguid: info.aaguid,
    attachment: verified.attachment,
    transports: info.credential.transports ?? [],
    backupEligible: info.credentialDeviceType === "multiDevice",
    attestation: finding.attestation,
    keyProtection: finding.statement?.keyProtection,
  };
  const kind = kindOf(evidence);
  return { ok: true, info, finding, kind, method: methodOf(kind, evidence) };
}

async function verifyRegistration(
  relyingParty: RelyingParty,
  challenge: string | null,
  responseJson: string,
): Promise<Verification> {
  if (!challenge) return { ok: false, reason: "no-challenge" };
  try {
    const response = JSON.parse(responseJson) as RegistrationResponseJSON;
    const result = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: relyingParty.origin,
      expectedRPID: relyingParty.id,
      requireUserVerification: true,
    });
    if (!result.verified || !result.registrationInfo) return { ok: false, reason: "not-verified" };
    return { ok: true, info: result.registrationInfo, attachment: response.authenticatorAttachment };
  } catch (error) {
    return { ok: false, reason: (error as Error).message.slice(0, 200) };
  }
}
