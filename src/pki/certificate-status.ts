import { pkijs, webcrypto, x509 } from "./engine.ts";

/**
 * A relying party's question to our CA: is this certificate revoked? Asked as the world would
 * ask it, over HTTP at the addresses the certificate names: OCSP first (the answer must be signed
 * by the issuer), then the CRL when the responder cannot be reached. Either answer is believed
 * only when the issuer's key signed it.
 */
export type CertificateStatus = {
  status: "good" | "revoked" | "unknown";
  source: "ocsp" | "crl" | "none";
  detail?: string;
};

export type CertificateStatusChecker = (
  certificate: x509.X509Certificate,
  issuer: x509.X509Certificate,
) => Promise<CertificateStatus>;

const basicResponseOid = "1.3.6.1.5.5.7.48.1.1";
const timeoutMs = 5_000;

export function onlineCertificateStatus(fetcher: typeof fetch = fetch): CertificateStatusChecker {
  return async (certificate, issuer) => {
    const problems: string[] = [];
    const ocspUrl = ocspAddress(certificate);
    if (ocspUrl) {
      try {
        return await askOcsp(fetcher, ocspUrl, certificate, issuer);
      } catch (error) {
        problems.push(`OCSP at ${ocspUrl}: ${(error as Error).message}`);
      }
    }
    for (const crlUrl of crlAddresses(certificate)) {
      try {
        return await readCrl(fetcher, crlUrl, certificate, issuer);
      } catch (error) {
        problems.push(`CRL at ${crlUrl}: ${(error as Error).message}`);
      }
    }
    return {
      status: "unknown",
      source: "none",
      detail: problems.length > 0 ? problems.join("; ") : "the certificate names no OCSP responder or CRL",
    };
  };
}

function ocspAddress(certificate: x509.X509Certificate): string | undefined {
  const access = certificate.getExtension(x509.AuthorityInfoAccessExtension);
  return access?.ocsp.find((name) => name.type === "url")?.value;
}

function crlAddresses(certificate: x509.X509Certificate): string[] {
  const points = certificate.getExtension(x509.CRLDistributionPointsExtension);
  return (points?.distributionPoints ?? []).flatMap((point) =>
    (point.distributionPoint?.fullName ?? []).flatMap((name) =>
      name.uniformResourceIdentifier ? [name.uniformResourceIdentifier] : [],
    ),
  );
}

async function askOcsp(
  fetcher: typeof fetch,
  url: string,
  certificate: x509.X509Certificate,
  issuer: x509.X509Certificate,
): Promise<CertificateStatus> {
  const subject = pkijs.Certificate.fromBER(certificate.rawData);
  const issuing = pkijs.Certificate.fromBER(issuer.rawData);
  const request = new pkijs.OCSPRequest();
  await request.createForCertificate(subject, { hashAlgorithm: "SHA-256", issuerCertificate: issuing });
  const response = await fetcher(url, {
    method: "POST",
    headers: { "content-type": "application/ocsp-request" },
    body: Buffer.from(request.toSchema(true).toBER()),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const answer = pkijs.OCSPResponse.fromBER(await response.arrayBuffer());
  const status = answer.responseStatus.valueBlock.valueDec;
  if (status !== 0 || !answer.responseBytes) throw new Error(`the responder answered status ${status}`);
  if (answer.responseBytes.responseType !== basicResponseOid) throw new Error("not a basic OCSP response");
  const basic = pkijs.BasicOCSPResponse.fromBER(
    new Uint8Array(answer.responseBytes.response.valueBlock.valueHexView),
  );
  const engine = pkijs.getCrypto(true);
  const signed = await engine.verifyWithPublicKey(
    new Uint8Array(basic.tbsResponseData.tbsView),
    basic.signature,
    issuing.subjectPublicKeyInfo,
    basic.signatureAlgorithm,
  );
  if (!signed) throw new Error("the OCSP answer is not signed by the issuer");
  const { isForCertificate, status: certStatus } = await basic.getCertificateStatus(subject, issuing);
  if (!isForCertificate) throw new Error("the OCSP answer is about another certificate");
  return { status: certStatus === 0 ? "good" : certStatus === 1 ? "revoked" : "unknown", source: "ocsp" };
}

async function readCrl(
  fetcher: typeof fetch,
  url: string,
  certificate: x509.X509Certificate,
  issuer: x509.X509Certificate,
): Promise<CertificateStatus> {
  const response = await fetcher(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const crl = new x509.X509Crl(await response.arrayBuffer());
  if (!(await crl.verify({ publicKey: issuer.publicKey }, webcrypto as never)))
    throw new Error("the CRL is not signed by the issuer");
  if (crl.nextUpdate && crl.nextUpdate.getTime() < Date.now()) throw new Error("the CRL is out of date");
  return { status: crl.findRevoked(certificate) ? "revoked" : "good", source: "crl" };
}
