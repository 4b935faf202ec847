import { createHash, generateKeyPairSync, KeyObject, randomBytes, sign } from "node:crypto";
import { isoCBOR } from "@simplewebauthn/server/helpers";
import { attestationBatch, writeFiles } from "./attestation-ca.ts";

/**
 * A FIDO2 security key in software, for HTTP-level journeys without a browser: it answers the
 * options a page's form carries (data-webauthn-options) as a roaming authenticator would, with
 * user verification, packed attestation by a test vendor's batch certificate, and ES256
 * assertions. The service trusts the vendor through CAREID_WEBAUTHN_ATTESTATION_ROOTS.
 */
export type SoftSecurityKey = {
  /** Configuration that makes the service trust this key's vendor. */
  environment: Record<string, string>;
  /** The registration response (JSON) to post for a page's creation options. */
  register(pageHtml: string, origin: string): string;
  /** The authentication response (JSON) to post for a page's request options. */
  assert(pageHtml: string, origin: string): string;
};

const aaguid = Buffer.from("5eb0c0de0000400080000000000000a1", "hex");
const flags = { userPresent: 0x01, userVerified: 0x04, attestedCredential: 0x40 };

export async function softSecurityKey(): Promise<SoftSecurityKey> {
  const { root, batch } = await attestationBatch();
  const files = writeFiles({ "vendor-root.pem": root.certificate.toString("pem") });
  const batchKey = KeyObject.from(batch.keys.privateKey);
  const credential = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const credentialId = randomBytes(32);
  let counter = 0;

  const authenticatorData = (rpId: string, extra: Buffer = Buffer.alloc(0)) => {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(++counter);
    const flagByte =
      flags.userPresent | flags.userVerified | (extra.length > 0 ? flags.attestedCredential : 0);
    return Buffer.concat([sha256(rpId), Buffer.from([flagByte]), count, extra]);
  };
  const clientData = (type: string, challenge: string, origin: string) =>
    Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));

  return {
    environment: { CAREID_WEBAUTHN_ATTESTATION_ROOTS: files["vendor-root.pem"] as string },
    register(pageHtml, origin) {
      const options = optionsOn(pageHtml) as { challenge: string; rp: { id: string } };
      const jwk = credential.publicKey.export({ format: "jwk" });
      const coseKey = isoCBOR.encode(
        new Map<number, number | Uint8Array>([
          [1, 2],
          [3, -7],
          [-1, 1],
          [-2, Buffer.from(jwk.x as string, "base64url")],
          [-3, Buffer.from(jwk.y as string, "base64url")],
        ]),
      );
      const idLength = Buffer.alloc(2);
      idLength.writeUInt16BE(credentialId.length);
      const authData = authenticatorData(
        options.rp.id,
        Buffer.concat([aaguid, idLength, credentialId, coseKey]),
      );
      const clientDataJSON = clientData("webauthn.create", options.challenge, origin);
      const signature = sign("sha256", Buffer.concat([authData, sha256(clientDataJSON)]), batchKey);
      const attestationObject = isoCBOR.encode(
        new Map<string, unknown>([
          ["fmt", "packed"],
          [
            "attStmt",
            new Map<string, unknown>([
              ["alg", -7],
              ["sig", signature],
              ["x5c", [new Uint8Array(batch.certificate.rawData)]],
            ]),
          ],
          ["authData", authData],
        ]) as never,
      );
      return JSON.stringify({
        id: credentialId.toString("base64url"),
        rawId: credentialId.toString("base64url"),
        type: "public-key",
        authenticatorAttachment: "cross-platform",
        clientExtensionResults: {},
        response: {
          clientDataJSON: clientDataJSON.toString("base64url"),
          attestationObject: Buffer.from(attestationObject).toString("base64url"),
          transports: ["usb"],
        },
      });
    },
    assert(pageHtml, origin) {
      const options = optionsOn(pageHtml) as { challenge: string; rpId: string };
      const authData = authenticatorData(options.rpId);
      const clientDataJSON = clientData("webauthn.get", options.challenge, origin);
      const signature = sign(
        "sha256",
        Buffer.concat([authData, sha256(clientDataJSON)]),
        credential.privateKey,
      );
      return JSON.stringify({
        id: credentialId.toString("base64url"),
        rawId: credentialId.toString("base64url"),
        type: "public-key",
        authenticatorAttachment: "cross-platform",
        clientExtensionResults: {},
        response: {
          clientDataJSON: clientDataJSON.toString("base64url"),
          authenticatorData: authData.toString("base64url"),
          signature: signature.toString("base64url"),
        },
      });
    },
  };
}

function sha256(data: string | Buffer): Buffer {
  return createHash("sha256").update(data).digest();
}

/** The WebAuthn options a page's ceremony form carries, HTML-escaped in an attribute. */
function optionsOn(html: string): unknown {
  const escaped = /data-webauthn-options="([^"]*)"/.exec(html)?.[1];
  if (escaped === undefined) throw new Error("the page has no WebAuthn ceremony form");
  return JSON.parse(
    escaped
      .replaceAll("&quot;", '"')
      .replaceAll("&#39;", "'")
      .replaceAll("&lt;", "<")
      .replaceAll("&gt;", ">")
      .replaceAll("&amp;", "&"),
  );
}
