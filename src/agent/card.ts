import { createHash, createPublicKey, randomInt } from "node:crypto";
import pkcs11js from "pkcs11js";

/**
 * The smartcard as the agent sees it through PKCS#11: one module (OpenSC for real readers, a
 * software token in tests), the first slot holding an initialised token. Private keys never
 * leave the card: key pairs are generated on it and it signs. The passcode is the PKCS#11 user
 * PIN; wrong passcodes are counted by the card itself, which locks the PIN at its own limit.
 */
export type CardInfo = {
  /** The chip's serial number as the token reports it. */
  tokenSerial: string;
  label: string;
  /** The user PIN is locked: too many wrong passcodes. */
  locked: boolean;
  /** The card has no passcode yet: it is blank, waiting to be issued. */
  blank: boolean;
  model: string;
  passcodeLength: { minimum: number; maximum: number };
};

export type PasscodeOutcome =
  | { outcome: "accepted" }
  | { outcome: "wrong"; lastTry: boolean }
  | { outcome: "locked" };

/**
 * The key pairs a CIS card holds, by CKA_ID. The presence key works without the passcode (its
 * private key is a public object, as PIV's card authentication key), so a locked card can
 * still prove it is in the reader; it signs nothing else.
 */
export const cardKeys = {
  authentication: { id: Buffer.from([1]), label: "Card Authentication" },
  signing: { id: Buffer.from([2]), label: "Digital Signature" },
  presence: { id: Buffer.from([3]), label: "Card Presence" },
} as const;
export type CardKey = keyof typeof cardKeys;

// DER prefix of a DigestInfo for SHA-256 (RFC 8017 section 9.2): tokens without a combined
// SHA256-RSA-PKCS mechanism (openCryptoki's software token) sign the DigestInfo with RSA-PKCS.
const sha256DigestInfoPrefix = Buffer.from("3031300d060960864801650304020105000420", "hex");

/** The card cannot do what was asked now: absent, locked, not signed in to, or missing a key. */
export class CardError extends Error {}

export type Card = ReturnType<typeof openCardModule>;

export function openCardModule(modulePath: string) {
  const pkcs11 = new pkcs11js.PKCS11();
  pkcs11.load(modulePath);
  pkcs11.C_Initialize();
  let session: pkcs11js.Handle | undefined;
  let sessionSlot: pkcs11js.Handle | undefined;
  let signedIn = false;

  function slotWithToken(): pkcs11js.Handle | undefined {
    for (const slot of pkcs11.C_GetSlotList(true)) {
      try {
        if (pkcs11.C_GetTokenInfo(slot).flags & pkcs11js.CKF_TOKEN_INITIALIZED) return slot;
      } catch {
        // A token that vanished under us (removed) reports an error: it is not there.
      }
    }
    return undefined;
  }

  function forgetSession(): void {
    if (session !== undefined) {
      try {
        pkcs11.C_CloseSession(session);
      } catch {
        // The card has gone; its session went with it.
      }
    }
    session = undefined;
    sessionSlot = undefined;
    signedIn = false;
  }

  function openSession(): pkcs11js.Handle {
    const slot = slotWithToken();
    if (slot === undefined) {
      forgetSession();
      throw new CardError("No smartcard is in the reader");
    }
    if (session === undefined || sessionSlot?.toString("hex") !== slot.toString("hex")) {
      forgetSession();
      session = pkcs11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      sessionSlot = slot;
    }
    return session;
  }

  function info(): CardInfo | undefined {
    const slot = slotWithToken();
    if (slot === undefined) return undefined;
    const token = pkcs11.C_GetTokenInfo(slot);
    return {
      tokenSerial: token.serialNumber.trim(),
      label: token.label.trim(),
      locked: Boolean(token.flags & pkcs11js.CKF_USER_PIN_LOCKED),
      // Cleared (wipe below) or left part way through an issue, a card has a passcode but no certificate.
      blank:
        !(token.flags & pkcs11js.CKF_USER_PIN_INITIALIZED) || readCertificate("authentication") === undefined,
      model: token.model.trim(),
      passcodeLength: { minimum: token.minPinLen, maximum: token.maxPinLen },
    };
  }

  /** Presents the passcode to the card; the card counts the wrong ones and locks itself. */
  function signIn(passcode: string): PasscodeOutcome {
    const handle = openSession();
    if (signedIn) pkcs11.C_Logout(handle);
    signedIn = false;
    try {
      pkcs11.C_Login(handle, pkcs11js.CKU_USER, passcode);
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === pkcs11js.CKR_PIN_LOCKED) return { outcome: "locked" };
      if (code === pkcs11js.CKR_PIN_INCORRECT || code === pkcs11js.CKR_PIN_LEN_RANGE) {
        return info()?.locked
          ? { outcome: "locked" }
          : { outcome: "wrong", lastTry: Boolean(flags() & pkcs11js.CKF_USER_PIN_FINAL_TRY) };
      }
      throw error;
    }
    signedIn = true;
    return { outcome: "accepted" };
  }

  function flags(): number {
    const slot = slotWithToken();
    return slot === undefined ? 0 : pkcs11.C_GetTokenInfo(slot).flags;
  }

  function requireSignedIn(): pkcs11js.Handle {
    const handle = openSession();
    if (info()?.locked) throw new CardError("The smartcard is locked");
    if (!signedIn) throw new CardError("Enter the smartcard's passcode first");
    return handle;
  }

  function signOut(): void {
    if (session !== undefined && signedIn) {
      try {
        pkcs11.C_Logout(session);
      } catch {
        // Already signed out with the card's removal.
      }
    }
    signedIn = false;
  }

  function findObject(handle: pkcs11js.Handle, template: pkcs11js.Template): pkcs11js.Handle | undefined {
    pkcs11.C_FindObjectsInit(handle, template);
    const found = pkcs11.C_FindObjects(handle, 1)[0];
    pkcs11.C_FindObjectsFinal(handle);
    return found;
  }

  function destroyAll(handle: pkcs11js.Handle, template: pkcs11js.Template): void {
    for (let found = findObject(handle, template); found; found = findObject(handle, template))
      pkcs11.C_DestroyObject(handle, found);
  }

  /**
   * Generates an RSA-2048 key pair on the card (replacing any under the same id) and returns
   * the public key as DER SubjectPublicKeyInfo. The private key is sensitive and never extractable.
   */
  function generateKeyPair(key: CardKey): Buffer {
    const handle = requireSignedIn();
    const { id, label } = cardKeys[key];
    for (const objectClass of [pkcs11js.CKO_PRIVATE_KEY, pkcs11js.CKO_PUBLIC_KEY])
      destroyAll(handle, [
        { type: pkcs11js.CKA_CLASS, value: objectClass },
        { type: pkcs11js.CKA_ID, value: id },
      ]);
    const keys = pkcs11.C_GenerateKeyPair(
      handle,
      { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_ID, value: id },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_VERIFY, value: true },
        { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      [
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: key !== "presence" },
        { type: pkcs11js.CKA_ID, value: id },
        { type: pkcs11js.CKA_LABEL, value: label },
        { type: pkcs11js.CKA_SIGN, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
      ],
    );
    const [modulus, exponent] = pkcs11
      .C_GetAttributeValue(handle, keys.publicKey, [
        { type: pkcs11js.CKA_MODULUS },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT },
      ])
      .map((attribute) => attribute.value as Buffer);
    return rsaSubjectPublicKeyInfo(modulus as Buffer, exponent as Buffer);
  }

  /** RSASSA-PKCS1-v1_5 with SHA-256 over the data, by the card's key. */
  function sign(key: CardKey, data: Buffer): Buffer {
    return signDigest(key, createHash("sha256").update(data).digest());
  }

  /** RSASSA-PKCS1-v1_5 over a SHA-256 digest made elsewhere (a prescription's SignedInfo). */
  function signDigest(key: CardKey, digest: Buffer): Buffer {
    return signDigestWith(requireSignedIn(), key, digest);
  }

  /** Signs with the presence key, which needs no passcode: a locked card can still do this. */
  function signPresence(data: Buffer): Buffer {
    return signDigestWith(openSession(), "presence", createHash("sha256").update(data).digest());
  }

  function signDigestWith(handle: pkcs11js.Handle, key: CardKey, digest: Buffer): Buffer {
    if (digest.length !== 32) throw new CardError("A SHA-256 digest is 32 bytes");
    const privateKey = findObject(handle, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
      { type: pkcs11js.CKA_ID, value: cardKeys[key].id },
    ]);
    if (!privateKey) throw new CardError(`The smartcard has no ${cardKeys[key].label} key`);
    const digestInfo = Buffer.concat([sha256DigestInfoPrefix, digest]);
    pkcs11.C_SignInit(handle, { mechanism: pkcs11js.CKM_RSA_PKCS }, privateKey);
    return pkcs11.C_Sign(handle, digestInfo, Buffer.alloc(512));
  }

  /** Writes a certificate (DER) to the card beside its key, replacing the one there. */
  function storeCertificate(key: CardKey, der: Buffer, subject: Buffer): void {
    const handle = requireSignedIn();
    const { id, label } = cardKeys[key];
    destroyAll(handle, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_ID, value: id },
    ]);
    pkcs11.C_CreateObject(handle, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_CERTIFICATE_TYPE, value: pkcs11js.CKC_X_509 },
      { type: pkcs11js.CKA_TOKEN, value: true },
      { type: pkcs11js.CKA_PRIVATE, value: false },
      { type: pkcs11js.CKA_ID, value: id },
      { type: pkcs11js.CKA_LABEL, value: label },
      { type: pkcs11js.CKA_SUBJECT, value: subject },
      { type: pkcs11js.CKA_VALUE, value: der },
    ]);
  }

  /** The certificate stored beside the key, readable without the passcode. */
  function readCertificate(key: CardKey): Buffer | undefined {
    const handle = openSession();
    const certificate = findObject(handle, [
      { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_CERTIFICATE },
      { type: pkcs11js.CKA_ID, value: cardKeys[key].id },
    ]);
    if (!certificate) return undefined;
    return pkcs11.C_GetAttributeValue(handle, certificate, [{ type: pkcs11js.CKA_VALUE }])[0]
      ?.value as Buffer;
  }

  /** As the card's security officer (the unlock code): set a new passcode, which unlocks the card. */
  function resetPasscode(unlockCode: string, passcode: string): void {
    const handle = openSession();
    signOut();
    pkcs11.C_Login(handle, pkcs11js.CKU_SO, unlockCode);
    try {
      pkcs11.C_InitPIN(handle, passcode);
    } finally {
      pkcs11.C_Logout(handle);
    }
  }

  /** Replaces the card's unlock code (SO PIN), e.g. the manufacturer's default with the escrowed one. */
  function changeUnlockCode(currentCode: string, newCode: string): void {
    const handle = openSession();
    signOut();
    pkcs11.C_Login(handle, pkcs11js.CKU_SO, currentCode);
    try {
      pkcs11.C_SetPIN(handle, currentCode, newCode);
    } finally {
      pkcs11.C_Logout(handle);
    }
  }

  /**
   * Wipes the card for reuse: as its security officer (the unlock code) a passcode nobody will know
   * is set, and with it every object on the card, keys and certificates, is destroyed; the card is
   * blank again (no certificate) and keeps its unlock code, which the service holds escrowed for
   * the card's next issue. Not C_InitToken: given a new SO PIN, openCryptoki's software token
   * (3.8) is left with a security officer who can no longer log in, and many cards lack it.
   */
  function wipe(unlockCode: string): void {
    const limits = info()?.passcodeLength ?? { minimum: 4, maximum: 8 };
    const length = Math.max(limits.minimum, Math.min(8, limits.maximum));
    const throwaway = Array.from({ length }, () => randomInt(10)).join("");
    resetPasscode(unlockCode, throwaway);
    const handle = openSession();
    pkcs11.C_Login(handle, pkcs11js.CKU_USER, throwaway);
    signedIn = true;
    try {
      destroyAll(handle, []);
    } finally {
      signOut();
    }
  }

  /** Rescans the readers: software tokens and some drivers only enumerate cards when initialised. */
  function rescan(): void {
    forgetSession();
    pkcs11.C_Finalize();
    pkcs11.C_Initialize();
  }

  function close(): void {
    forgetSession();
    pkcs11.C_Finalize();
    pkcs11.close();
  }

  return {
    info,
    signIn,
    signOut,
    isSignedIn: () => signedIn,
    generateKeyPair,
    sign,
    signDigest,
    signPresence,
    wipe,
    storeCertificate,
    readCertificate,
    resetPasscode,
    changeUnlockCode,
    rescan,
    close,
  };
}

/** DER SubjectPublicKeyInfo of the card's RSA public key. */
function rsaSubjectPublicKeyInfo(modulus: Buffer, exponent: Buffer): Buffer {
  return createPublicKey({
    key: { kty: "RSA", n: modulus.toString("base64url"), e: exponent.toString("base64url") },
    format: "jwk",
  }).export({ type: "spki", format: "der" });
}
