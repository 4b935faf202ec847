import type { Method } from "../../assurance/methods.ts";

/**
 * What kind of authenticator a WebAuthn credential lives on, and the method (amr) it signs in as.
 * Windows Hello signs in as FIDO2: CIS2 names no method of its own for it, and NHS guidance puts
 * it with security keys under AAL3_FIDO2.
 */
export const authenticatorKinds = {
  "security-key": { method: "FIDO2", label: "Security key" },
  "windows-hello": { method: "FIDO2", label: "Windows Hello" },
  ipad: { method: "IOS", label: "iPad" },
  passkey: { method: "PASSKEY", label: "Passkey on this device" },
  "synced-passkey": { method: "PASSKEY_SYNCED", label: "Passkey" },
} as const satisfies Record<string, { method: Method; label: string }>;

export type AuthenticatorKind = keyof typeof authenticatorKinds;

/** How far the attestation was believed: a chain to a trusted root, a chain to none, self-signed, or none at all. */
export type Attestation = "trusted" | "untrusted" | "self" | "none";

export type Evidence = {
  /** The attestation statement format: packed, tpm, apple, android-key, fido-u2f, none ... */
  format: string;
  /** The model the authenticator names in its signed data (all zeros when it names none). */
  aaguid: string;
  /** authenticatorAttachment as the browser reported it: platform or cross-platform. */
  attachment: string | undefined;
  transports: string[];
  /** The BE flag: the credential may be copied to other devices (a synced passkey). */
  backupEligible: boolean;
  attestation: Attestation;
  /** Key protection from the model's metadata statement, when there is one. */
  keyProtection: string[] | undefined;
};

/**
 * The AAGUID Apple's platform authenticator names when it attests a passkey for a relying party
 * that a managed device's passkey attestation configuration lists (packed format, signed by the
 * identity the organisation's device management installed). Apple shows it in "Deploy passkeys at
 * work" (WWDC 2023); community AAGUID lists call it "iCloud Keychain (Managed)".
 */
export const appleManagedAaguid = "dd4ec289-e01d-41c9-bb89-70fa845d4bf2";

/**
 * The kind, from the strongest evidence first: backup eligibility (the authenticator says so in
 * signed data), then formats only one kind of platform uses (TPM is Windows Hello, Apple's is the
 * iPad's), then Apple's managed-device model, then where the authenticator sits (a roaming key
 * or this device).
 */
export function kindOf(evidence: Evidence): AuthenticatorKind {
  if (evidence.backupEligible) return "synced-passkey";
  if (evidence.format === "tpm") return "windows-hello";
  if (evidence.format === "apple") return "ipad";
  // A managed iPad's enterprise attestation is packed: only its AAGUID says it is Apple's.
  if (evidence.aaguid.toLowerCase() === appleManagedAaguid) return "ipad";
  const roaming =
    evidence.attachment === "cross-platform" ||
    (evidence.attachment === undefined &&
      evidence.transports.length > 0 &&
      !evidence.transports.includes("internal") &&
      !evidence.transports.includes("hybrid"));
  return roaming ? "security-key" : "passkey";
}

/**
 * AAL3 needs a key proved to be bound to hardware: a trusted attestation, and no metadata saying
 * the model keeps keys in software. Anything less signs in as a passkey at AAL2.
 */
export function methodOf(kind: AuthenticatorKind, evidence: Evidence): Method {
  const method = authenticatorKinds[kind].method;
  const hardware =
    evidence.keyProtection === undefined ||
    evidence.keyProtection.some((protection) => ["hardware", "secure_element", "tee"].includes(protection));
  return evidence.attestation === "trusted" && hardware ? method : "PASSKEY_SYNCED";
}
