/**
 * A software WebAuthn authenticator for benchmarks, made with node:crypto: ES256 (P-256) keys,
 * user presence and verification always given, a signature counter per credential. It answers
 * `navigator.credentials.create()` and `.get()` options in the JSON a browser hands the page
 * (what @simplewebauthn/browser returns), with clientDataJSON naming the page's origin.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";

type CreationOptions = { challenge: string; rp: { id?: string } };
type RequestOptions = { challenge: string; rpId?: string; allowCredentials?: { id: string }[] };

type Credential = { id: Buffer; privateKey: KeyObject; counter: number; userHandle: string };
/** Full attestation: a batch certificate chain (leaf first, DER) and the batch key that signs. */
export type AttestationBatch = { x5c: Buffer[]; privateKey: KeyObject };

/**
 * What the authenticator says of itself: its model (AAGUID), whether its credentials may be
 * backed up (BE) and are (BS), and where it sits as the browser reports it.
 */
export type AuthenticatorModel = {
  aaguid?: Buffer;
  backupEligible?: boolean;
  backedUp?: boolean;
  attachment?: "platform" | "cross-platform";
  transports?: string[];
};

/** A credential just made, before its attestation statement: what an attestation signs or certifies. */
export type NewCredential = {
  id: Buffer;
  publicKey: KeyObject;
  privateKey: KeyObject;
  authenticatorData: Buffer;
  clientDataJSON: Buffer;
};

const flags = {
  userPresent: 0x01,
  userVerified: 0x04,
  backupEligible: 0x08,
  backedUp: 0x10,
  attestedCredentialData: 0x40,
};
/** Not a registered model: the benchmark's own authenticator. */
const benchmarkAaguid = Buffer.from("b3c1a2d4e5f60718293a4b5c6d7e8f90", "hex");

export class SoftwareAuthenticator {
  private readonly credentials = new Map<string, Credential>();
  private readonly origin: string;
  private readonly attestation: "none" | "packed" | AttestationBatch;
  private readonly model: Required<AuthenticatorModel>;

  constructor(
    origin: string,
    attestation: "none" | "packed" | AttestationBatch = "none",
    model: AuthenticatorModel = {},
  ) {
    this.origin = origin;
    this.attestation = attestation;
    this.model = {
      aaguid: model.aaguid ?? benchmarkAaguid,
      backupEligible: model.backupEligible ?? false,
      backedUp: model.backedUp ?? false,
      attachment: model.attachment ?? "cross-platform",
      transports: model.transports ?? ["usb"],
    };
  }

  /** A new credential for the options of a registration ceremony: a RegistrationResponseJSON. */
  create(options: CreationOptions & { user: { id: string } }) {
    const made = this.makeCredential(options);
    const signed = Buffer.concat([made.authenticatorData, sha256(made.clientDataJSON)]);
    const attestationStatement =
      this.attestation === "none"
        ? new Map()
        : this.attestation === "packed"
          ? // Self attestation: the credential's own key signs authenticator data and client data hash.
            new Map<string, unknown>([
              ["alg", -7],
              ["sig", sign("sha256", signed, made.privateKey)],
            ])
          : // Full attestation: the batch key signs, and its certificate chain goes with it.
            new Map<string, unknown>([
              ["alg", -7],
              ["sig", sign("sha256", signed, this.attestation.privateKey)],
              ["x5c", this.attestation.x5c],
            ]);
    return this.registrationResponse(
      made,
      this.attestation === "none" ? "none" : "packed",
      attestationStatement,
    );
  }

  /**
   * The first half of a registration: a key pair, authenticator data naming it, and client data,
   * for an attestation made elsewhere (one whose certificate is issued for the credential, as
   * Apple's is) before `registrationResponse` packs them.
   */
  makeCredential(options: CreationOptions & { user: { id: string } }): NewCredential {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const id = randomBytes(32);
    this.credentials.set(id.toString("base64url"), {
      id,
      privateKey,
      counter: 0,
      userHandle: options.user.id,
    });
    const jwk = publicKey.export({ format: "jwk" });
    // COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
    const coseKey = cbor(
      new Map<number, unknown>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, "base64url")],
        [-3, Buffer.from(jwk.y as string, "base64url")],
      ]),
    );
    const length = Buffer.alloc(2);
    length.writeUInt16BE(id.length);
    const authenticatorData = Buffer.concat([
      authenticatorDataHead(rpId, this.flagBits() | flags.attestedCredentialData, 0),
      this.model.aaguid,
      length,
      id,
      coseKey,
    ]);
    return {
      id,
      publicKey,
      privateKey,
      authenticatorData,
      clientDataJSON: this.clientData("webauthn.create", options.challenge),
    };
  }

  /** The RegistrationResponseJSON for a credential made here and its attestation statement. */
  registrationResponse(made: NewCredential, format: string, statement: Map<string, unknown>) {
    const attestationObject = cbor(
      new Map<string, unknown>([
        ["fmt", format],
        ["attStmt", statement],
        ["authData", made.authenticatorData],
      ]),
    );
    return {
      id: made.id.toString("base64url"),
      rawId: made.id.toString("base64url"),
      type: "public-key",
      response: {
        clientDataJSON: made.clientDataJSON.toString("base64url"),
        attestationObject: attestationObject.toString("base64url"),
        transports: this.model.transports,
      },
      clientExtensionResults: {},
      authenticatorAttachment: this.model.attachment,
    };
  }

  /** An assertion for the options of a sign-in ceremony with one of our credentials: an AuthenticationResponseJSON. */
  get(options: RequestOptions) {
    const rpId = options.rpId ?? new URL(this.origin).hostname;
    const credential = (options.allowCredentials ?? [])
      .map((allowed) => this.credentials.get(allowed.id))
      .find(Boolean);
    if (!credential) throw new Error("no credential of this authenticator is allowed");
    credential.counter++;
    const authenticatorData = authenticatorDataHead(rpId, this.flagBits(), credential.counter);
    const clientDataJSON = this.clientData("webauthn.get", options.challenge);
    const signature = sign(
      "sha256",
      Buffer.concat([authenticatorData, sha256(clientDataJSON)]),
      credential.privateKey,
    );
    return {
      id: credential.id.toString("base64url"),
      rawId: credential.id.toString("base64url"),
      type: "public-key",
      response: {
        clientDataJSON: clientDataJSON.toString("base64url"),
        authenticatorData: authenticatorData.toString("base64url"),
        signature: signature.toString("base64url"),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
      authenticatorAttachment: this.model.attachment,
    };
  }

  /** User present and verified always; the backup flags as the model has them. */
  private flagBits(): number {
    return (
      flags.userPresent |
      flags.userVerified |
      (this.model.backupEligible ? flags.backupEligible : 0) |
      (this.model.backedUp ? flags.backedUp : 0)
    );
  }

  private clientData(type: string, challenge: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin: this.origin, crossOrigin: false }));
  }
}

function sha256(data: Buffer | string): Buffer {
  return createHash("sha256").update(data).digest();
}

function authenticatorDataHead(rpId: string, flagBits: number, counter: number): Buffer {
  const head = Buffer.alloc(37);
  sha256(rpId).copy(head, 0);
  head.writeUInt8(flagBits, 32);
  head.writeUInt32BE(counter, 33);
  return head;
}

/** The CBOR (RFC 8949) WebAuthn needs: integers, byte and text strings, arrays, maps. */
function cbor(value: unknown): Buffer {
  const head = (major: number, length: number) => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 256) return Buffer.from([(major << 5) | 24, length]);
    const bytes = Buffer.alloc(3);
    bytes.writeUInt8((major << 5) | 25);
    bytes.writeUInt16BE(length, 1);
    return bytes;
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (typeof value === "string") {
    const text = Buffer.from(value);
    return Buffer.concat([head(3, text.length), text]);
  }
  if (Array.isArray(value)) return Buffer.concat([head(4, value.length), ...value.map(cbor)]);
  if (value instanceof Map) {
    return Buffer.concat([
      head(5, value.size),
      ...[...value].flatMap(([key, entry]) => [cbor(key), cbor(entry)]),
    ]);
  }
  throw new Error(`cannot encode ${typeof value} as CBOR`);
}
