import { InvalidInputError } from "../../errors.ts";
import { x509 } from "../../pki/engine.ts";

/** Certificates and CSRs arrive as PEM or as base64 of their DER; both are read here. */
export function readCertificate(text: string): x509.X509Certificate | undefined {
  try {
    return new x509.X509Certificate(derOf(text));
  } catch {
    return undefined;
  }
}

export async function readCardRequest(field: string, text: unknown): Promise<x509.Pkcs10CertificateRequest> {
  if (typeof text !== "string" || text.length === 0 || text.length > 16_384)
    throw InvalidInputError.field(field, "is required: a PKCS#10 request, PEM or base64 DER");
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(derOf(text));
  } catch {
    throw InvalidInputError.field(field, "is not a PKCS#10 certificate request");
  }
  if (!(await request.verify().catch(() => false)))
    throw InvalidInputError.field(field, "is not signed by the key it carries");
  const problem = keyProblem(request.publicKey);
  if (problem) throw InvalidInputError.field(field, problem);
  return request;
}

function derOf(text: string): Uint8Array {
  const body = text.includes("-----BEGIN")
    ? text.replace(/-----(BEGIN|END) [A-Z0-9 ]+-----/g, "").replace(/\s+/g, "")
    : text.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/=_-]+$/.test(body)) throw new Error("not base64");
  return new Uint8Array(Buffer.from(body.replace(/-/g, "+").replace(/_/g, "/"), "base64"));
}

/** Card keys: RSA 2048 to 4096 bits, or EC on P-256 or P-384. */
function keyProblem(publicKey: x509.PublicKey): string | undefined {
  const algorithm = publicKey.algorithm as { name: string; modulusLength?: number; namedCurve?: string };
  if (
    algorithm.name === "RSASSA-PKCS1-v1_5" ||
    algorithm.name === "RSA-PSS" ||
    algorithm.name === "RSA-OAEP"
  ) {
    const bits = algorithm.modulusLength ?? 0;
    return bits >= 2048 && bits <= 4096
      ? undefined
      : `has an RSA key of ${bits} bits; 2048 to 4096 are accepted`;
  }
  if (algorithm.name === "ECDSA" || algorithm.name === "ECDH")
    return ["P-256", "P-384"].includes(algorithm.namedCurve ?? "")
      ? undefined
      : `has an EC key on ${algorithm.namedCurve}; P-256 and P-384 are accepted`;
  return `has a ${algorithm.name} key; RSA or EC keys are accepted`;
}
