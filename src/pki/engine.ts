// @peculiar/x509 resolves its algorithm registry through tsyringe, which needs the Reflect
// metadata API loaded before it.
import "reflect-metadata";
import { webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import * as pkijs from "pkijs";

/** Both X.509 libraries sign and verify with Node's WebCrypto. */
x509.cryptoProvider.set(webcrypto as never);
pkijs.setEngine("node", new pkijs.CryptoEngine({ name: "node", crypto: webcrypto as never }));

export { pkijs, webcrypto, x509 };
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** The CA keys: ECDSA P-256 signs OCSP answers fast enough to answer every sign-in. */
export const caKeyAlgorithm = { name: "ECDSA", namedCurve: "P-256" } as const;
export const caSigningAlgorithm = { name: "ECDSA", hash: "SHA-256" } as const;

/** Serial numbers as the database keys them: lower-case hex without leading zeros. */
export function serialKey(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}

/** A serial key as DER wants it: whole octets, with a zero octet first when the top bit is set. */
export function serialHex(key: string): string {
  const even = key.length % 2 === 1 ? `0${key}` : key;
  return /^[89a-f]/i.test(even) ? `00${even}` : even;
}

export function toPem(der: ArrayBuffer | Uint8Array, label = "CERTIFICATE"): string {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  const base64 = Buffer.from(bytes).toString("base64");
  return `-----BEGIN ${label}-----\n${base64.match(/.{1,64}/g)?.join("\n")}\n-----END ${label}-----\n`;
}
