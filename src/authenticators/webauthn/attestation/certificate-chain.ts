// @peculiar/x509 needs a Reflect polyfill loaded first; reflect-metadata comes with @simplewebauthn/server.
import "reflect-metadata";
import { PemConverter, X509Certificate } from "@peculiar/x509";

/** Every certificate in a PEM text (a file may hold several). */
export function certificatesInPem(pem: string): X509Certificate[] {
  return PemConverter.decode(pem).map((der) => new X509Certificate(der));
}

/**
 * Whether a chain (leaf first) reaches a trust anchor: each certificate is in date and signed by
 * the next, and the last is signed by an anchor or is an anchor. An anchor is a name and a key
 * (RFC 5280, 6.1.1), not a byte string: a vendor that reissues its self-signed batch
 * certificate under the same key and name is still the same anchor.
 */
export async function chainReachesAnchor(
  chain: X509Certificate[],
  anchors: X509Certificate[],
  at = new Date(),
): Promise<boolean> {
  const last = chain.at(-1);
  if (!last || chain.some((certificate) => !inDate(certificate, at))) return false;
  for (const [index, certificate] of chain.slice(0, -1).entries()) {
    const issuer = chain[index + 1] as X509Certificate;
    if (!(await signedBy(certificate, issuer))) return false;
  }
  for (const anchor of anchors.filter((candidate) => inDate(candidate, at))) {
    if (sameAnchor(last, anchor) && (await signedBy(last, last))) return true;
    if (await signedBy(last, anchor)) return true;
  }
  return false;
}

function inDate(certificate: X509Certificate, at: Date): boolean {
  return certificate.notBefore <= at && at <= certificate.notAfter;
}

function sameAnchor(certificate: X509Certificate, anchor: X509Certificate): boolean {
  return (
    certificate.subject === anchor.subject &&
    Buffer.from(certificate.publicKey.rawData).equals(Buffer.from(anchor.publicKey.rawData))
  );
}

async function signedBy(certificate: X509Certificate, issuer: X509Certificate): Promise<boolean> {
  if (certificate.issuer !== issuer.subject) return false;
  return certificate.verify({ publicKey: issuer.publicKey, signatureOnly: true }).catch(() => false);
}
