import "reflect-metadata";
import { readFileSync } from "node:fs";
import { X509Certificate } from "@peculiar/x509";
import { SettingsService } from "@simplewebauthn/server";
import { openAttestationPolicy } from "../../src/authenticators/webauthn/attestation/policy.ts";
import { type Assessment, assessRegistration } from "../../src/authenticators/webauthn/registration.ts";

/** One recorded iPad registration (test/fixtures/webauthn/ipads.json). */
export type RecordedIpad = { name: string; setUp: string; challenge: string; response: unknown };

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/webauthn/ipads.json", import.meta.url), "utf8"),
) as {
  relyingParty: { id: string; name: string; origin: string };
  trustedRoots: { enterprise: string; apple: string };
  cases: RecordedIpad[];
};

export const recordedIpads = fixture.cases;

/**
 * Trusts the recording's roots as an operator would: the trust's device management root through
 * the attestation roots (CAREID_WEBAUTHN_ATTESTATION_ROOTS), and its stand-in for Apple's
 * WebAuthn root where SimpleWebAuthn keeps Apple's (a process-wide setting: call it only in a
 * test process of its own, as node --test runs each file).
 */
export function trustRecordedRoots() {
  SettingsService.setRootCertificates({ identifier: "apple", certificates: [fixture.trustedRoots.apple] });
  return { ...openAttestationPolicy, roots: [new X509Certificate(fixture.trustedRoots.enterprise)] };
}

/** A recorded registration verified and classified by the service's own registration step. */
export function assessRecorded(
  policy: ReturnType<typeof trustRecordedRoots>,
  recorded: RecordedIpad,
  response: unknown = recorded.response,
): Promise<Assessment> {
  return assessRegistration(fixture.relyingParty, policy, recorded.challenge, JSON.stringify(response));
}
