import { createVerify, timingSafeEqual } from "node:crypto";
import type { Attr, Element } from "@xmldom/xmldom";
import * as xpath from "xpath";
import type { CertificateStatusChecker } from "../pki/certificate-status.ts";
import { x509 } from "../pki/engine.ts";
import { fragmentsToBeHashed } from "./fragments.ts";
import {
  canonicalise,
  dsigNamespace,
  exclusiveC14n,
  hashOf,
  hl7Namespace,
  parseXml,
  rsaSha1,
  rsaSha256,
  sha1Digest,
  sha256Digest,
} from "./xml-dsig.ts";

/**
 * The verifier's nine checks (domain reference, section 7), each named, each run where the ones
 * it rests on passed, so a report says every reason a prescription's signature is refused.
 */
export const checkNames = [
  "parts-present",
  "one-certificate",
  "certificate-parses",
  "signature-verifies",
  "digest-matches",
  "certificate-not-revoked",
  "issuer-not-revoked",
  "author-time-within-validity",
  "trusted-issuer",
] as const;
export type CheckName = (typeof checkNames)[number];

export type CheckResult = { check: CheckName; passed: boolean; message: string };
export type Verification = { valid: boolean; checks: CheckResult[]; signer?: string };

export type VerifierTrust = {
  /** Root CAs trusted as anchors. */
  roots: x509.X509Certificate[];
  /** Issuing CAs in good standing: the ones our CA publishes now. */
  issuers: x509.X509Certificate[];
  certificateStatus: CertificateStatusChecker;
  /** Legacy rsa-sha1 (and sha1 digests): refused unless this is set (CAREID_SIGNING_ALLOW_RSA_SHA1). */
  allowRsaSha1?: boolean;
};

const select = xpath.useNamespaces({ hl7: hl7Namespace, ds: dsigNamespace });
const authorPath = "/hl7:ParentPrescription/hl7:pertinentInformation1/hl7:pertinentPrescription/hl7:author";

export async function verifyPrescription(prescription: string, trust: VerifierTrust): Promise<Verification> {
  const results: CheckResult[] = [];
  const pass = (check: CheckName, message: string) => results.push({ check, passed: true, message });
  const fail = (check: CheckName, message: string) => results.push({ check, passed: false, message });
  const finish = (signer?: string): Verification => {
    for (const check of checkNames)
      if (!results.some((result) => result.check === check))
        results.push({ check, passed: false, message: "not checked: an earlier check failed" });
    results.sort((a, b) => checkNames.indexOf(a.check) - checkNames.indexOf(b.check));
    return { valid: results.every((result) => result.passed), checks: results, signer };
  };

  let root: Element;
  try {
    root = parseXml(prescription, "The prescription");
  } catch (error) {
    fail("parts-present", (error as Error).message);
    return finish();
  }
  const parts = signatureParts(root);
  if (typeof parts === "string") {
    fail("parts-present", parts);
    return finish();
  }
  pass("parts-present", "Signature, SignedInfo, SignatureValue and KeyInfo are present");

  if (parts.certificates.length !== 1) {
    fail(
      "one-certificate",
      `KeyInfo must carry exactly one X509Certificate; it carries ${parts.certificates.length}`,
    );
    return finish();
  }
  pass("one-certificate", "KeyInfo carries one certificate");

  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(Buffer.from(parts.certificates[0] ?? "", "base64"));
  } catch (error) {
    fail("certificate-parses", `the certificate could not be read: ${(error as Error).message}`);
    return finish();
  }
  pass("certificate-parses", `the certificate of ${certificate.subject} parses`);

  checkSignature(parts, certificate, trust, pass, fail);
  checkDigest(root, parts, trust, pass, fail);
  const issuer = await checkIssuer(certificate, trust, pass, fail);
  if (issuer) await checkRevocation(certificate, issuer, trust, pass, fail);
  checkAuthorTime(root, certificate, pass, fail);
  return finish(certificate.subject);
}

type Parts = {
  signedInfo: Element;
  signatureMethod: string;
  canonicalisation: string;
  transforms: string[];
  digestMethod: string;
  digestValue: string;
  signatureValue: string;
  certificates: string[];
};

function text(context: Element, path: string): string | undefined {
  const node = select(path, context as never, true) as unknown as Element | undefined;
  return node ? (node.textContent ?? "").replace(/\s+/g, "") : undefined;
}

function signatureParts(root: Element): Parts | string {
  const signatures = select(
    `${authorPath}/hl7:signatureText/ds:Signature`,
    root as never,
  ) as unknown as Element[];
  if (signatures.length !== 1)
    return signatures.length === 0
      ? "no Signature in the author's signatureText"
      : "more than one Signature in the author's signatureText";
  const signature = signatures[0] as Element;
  const signedInfos = select("ds:SignedInfo", signature as never) as unknown as Element[];
  if (signedInfos.length !== 1) return "the Signature must hold exactly one SignedInfo";
  const signedInfo = signedInfos[0] as Element;
  const references = select("ds:Reference", signedInfo as never) as unknown as Element[];
  if (references.length !== 1) return "the SignedInfo must hold exactly one Reference";
  const reference = references[0] as Element;
  if (reference.hasAttribute("URI"))
    return "the Reference must have no URI: it refers to the prescription's fragments";
  const attribute = (path: string) =>
    (select(`${path}/@Algorithm`, signedInfo as never, true) as unknown as Attr | undefined)?.value;
  const found = {
    signedInfo,
    canonicalisation: attribute("ds:CanonicalizationMethod"),
    signatureMethod: attribute("ds:SignatureMethod"),
    transforms: (
      select("ds:Reference/ds:Transforms/ds:Transform/@Algorithm", signedInfo as never) as unknown as Attr[]
    ).map((algorithm) => algorithm.value),
    digestMethod: attribute("ds:Reference/ds:DigestMethod"),
    digestValue: text(signedInfo, "ds:Reference/ds:DigestValue"),
    signatureValue: text(signature, "ds:SignatureValue"),
    certificates: (
      select("ds:KeyInfo/ds:X509Data/ds:X509Certificate", signature as never) as unknown as Element[]
    ).map((element) => (element.textContent ?? "").replace(/\s+/g, "")),
  };
  const missing = Object.entries({
    CanonicalizationMethod: found.canonicalisation,
    SignatureMethod: found.signatureMethod,
    DigestMethod: found.digestMethod,
    DigestValue: found.digestValue,
    SignatureValue: found.signatureValue,
  })
    .filter(([, value]) => !value)
    .map(([name]) => name);
  if (found.certificates.length === 0) missing.push("KeyInfo/X509Data/X509Certificate");
  if (missing.length > 0) return `missing ${missing.join(", ")}`;
  return found as Parts;
}

type Report = (check: CheckName, message: string) => void;

function allowedAlgorithm(
  uri: string,
  trust: VerifierTrust,
  expected: string,
  legacy: string,
): string | undefined {
  if (uri === expected) return undefined;
  if (uri === legacy)
    return trust.allowRsaSha1
      ? undefined
      : `${uri} is legacy and refused: SHA-256 is required (allow with CAREID_SIGNING_ALLOW_RSA_SHA1)`;
  return `${uri} is not an accepted algorithm`;
}

function checkSignature(
  parts: Parts,
  certificate: x509.X509Certificate,
  trust: VerifierTrust,
  pass: Report,
  fail: Report,
) {
  const refused =
    (parts.canonicalisation !== exclusiveC14n
      ? `canonicalisation ${parts.canonicalisation} is not exclusive C14N`
      : undefined) ?? allowedAlgorithm(parts.signatureMethod, trust, rsaSha256, rsaSha1);
  if (refused) return fail("signature-verifies", refused);
  const canonical = canonicalise(parts.signedInfo);
  try {
    const holds = createVerify(hashOf[parts.signatureMethod] ?? "sha256")
      .update(canonical, "utf8")
      .verify(certificate.publicKey.toString("pem"), Buffer.from(parts.signatureValue, "base64"));
    if (holds) pass("signature-verifies", "the SignatureValue verifies over the canonical SignedInfo");
    else
      fail(
        "signature-verifies",
        "the SignatureValue does not verify over the SignedInfo with the certificate's key",
      );
  } catch (error) {
    fail("signature-verifies", `the signature could not be checked: ${(error as Error).message}`);
  }
}

function checkDigest(root: Element, parts: Parts, trust: VerifierTrust, pass: Report, fail: Report) {
  const refused =
    (parts.transforms.length !== 1 || parts.transforms[0] !== exclusiveC14n
      ? "the Reference must have the one transform exclusive C14N"
      : undefined) ?? allowedAlgorithm(parts.digestMethod, trust, sha256Digest, sha1Digest);
  if (refused) return fail("digest-matches", refused);
  try {
    const digest = fragmentsToBeHashed(root, hashOf[parts.digestMethod]).digest;
    const claimed = Buffer.from(parts.digestValue, "base64");
    if (claimed.length === digest.length && timingSafeEqual(claimed, digest))
      pass("digest-matches", "the DigestValue matches the prescription's fragments");
    else
      fail(
        "digest-matches",
        "the DigestValue does not match the prescription's fragments: the prescription was changed after signing",
      );
  } catch (error) {
    fail("digest-matches", (error as Error).message);
  }
}

/** The issuing CA that signed the certificate, if it is one we trust and it chains to a trusted root. */
async function checkIssuer(
  certificate: x509.X509Certificate,
  trust: VerifierTrust,
  pass: Report,
  fail: Report,
) {
  for (const issuer of trust.issuers) {
    if (issuer.subject !== certificate.issuer) continue;
    if (!(await certificate.verify({ publicKey: issuer.publicKey, signatureOnly: true }))) continue;
    for (const root of trust.roots)
      if (
        root.subject === issuer.issuer &&
        (await issuer.verify({ publicKey: root.publicKey, signatureOnly: true }))
      ) {
        pass("trusted-issuer", `issued by ${issuer.subject}, under ${root.subject}`);
        return issuer;
      }
  }
  fail("trusted-issuer", `the certificate's issuer ${certificate.issuer} is not a trusted CA`);
  return undefined;
}

async function checkRevocation(
  certificate: x509.X509Certificate,
  issuer: x509.X509Certificate,
  trust: VerifierTrust,
  pass: Report,
  fail: Report,
) {
  const answer = await trust.certificateStatus(certificate, issuer);
  if (answer.status === "good")
    pass("certificate-not-revoked", `not revoked (${answer.source.toUpperCase()})`);
  else if (answer.status === "revoked")
    fail("certificate-not-revoked", `the certificate has been revoked (${answer.source.toUpperCase()})`);
  else
    fail(
      "certificate-not-revoked",
      `the certificate's status could not be established: ${answer.detail ?? "the CA does not know it"}`,
    );
  // The root publishes no revocations of its own: an issuing CA stays in good standing while our
  // CA publishes it as its issuing certificate, and a withdrawn one leaves the trusted list.
  const now = new Date();
  if (issuer.notAfter < now || issuer.notBefore > now)
    fail("issuer-not-revoked", `the issuing CA ${issuer.subject} is outside its validity`);
  else pass("issuer-not-revoked", `the issuing CA ${issuer.subject} is one our CA publishes now`);
}

/** HL7 TS: YYYYMMDDHHMMSS with an optional zone; without one it is UK time (Europe/London). */
export function readHl7Time(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?([+-]\d{4})?$/.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour = "00", minute = "00", second = "00", zone] = match;
  const local = `${year}-${month}-${day}T${hour}:${minute}:${second}`;
  if (zone) return new Date(`${local}${zone.slice(0, 3)}:${zone.slice(3)}`);
  const asUtc = new Date(`${local}Z`);
  const offset = londonOffsetMinutes(asUtc);
  return new Date(asUtc.getTime() - offset * 60_000);
}

function londonOffsetMinutes(at: Date): number {
  const name = new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/London", timeZoneName: "shortOffset" })
    .formatToParts(at)
    .find((part) => part.type === "timeZoneName")?.value;
  const match = /GMT([+-]\d+)?/.exec(name ?? "");
  return match?.[1] ? Number(match[1]) * 60 : 0;
}

function checkAuthorTime(root: Element, certificate: x509.X509Certificate, pass: Report, fail: Report) {
  const value = (select(`${authorPath}/hl7:time/@value`, root as never, true) as unknown as Attr | undefined)
    ?.value;
  const time = value ? readHl7Time(value) : undefined;
  if (!time)
    return fail("author-time-within-validity", `the author time ${value ?? "(none)"} is not an HL7 time`);
  if (time < certificate.notBefore || time > certificate.notAfter)
    return fail(
      "author-time-within-validity",
      `the author time ${time.toISOString()} lies outside the certificate's validity (${certificate.notBefore.toISOString()} to ${certificate.notAfter.toISOString()})`,
    );
  pass(
    "author-time-within-validity",
    `the author time ${time.toISOString()} lies within the certificate's validity`,
  );
}
