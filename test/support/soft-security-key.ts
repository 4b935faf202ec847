import { KeyObject } from "node:crypto";
import { SoftwareAuthenticator } from "../../bench/software-authenticator.ts";
import { attestationBatch, writeFiles } from "./attestation-ca.ts";

/**
 * A FIDO2 security key in software, for HTTP-level journeys without a browser: the benchmarks'
 * software authenticator with full (packed) attestation by a test vendor's batch certificate,
 * answering the options a page's ceremony form carries (data-webauthn-options). The service
 * trusts the vendor through CAREID_WEBAUTHN_ATTESTATION_ROOTS, so the key signs in at AAL3.
 */
export type SoftSecurityKey = {
  /** Configuration that makes the service trust this key's vendor. */
  environment: Record<string, string>;
  /** The registration response (JSON) to post for a page's creation options. */
  register(pageHtml: string, origin: string): string;
  /** The authentication response (JSON) to post for a page's request options. */
  assert(pageHtml: string, origin: string): string;
};

export async function softSecurityKey(): Promise<SoftSecurityKey> {
  const { root, batch } = await attestationBatch();
  const files = writeFiles({ "vendor-root.pem": root.certificate.toString("pem") });
  const attestation = {
    x5c: [Buffer.from(batch.certificate.rawData)],
    privateKey: KeyObject.from(batch.keys.privateKey),
  };
  const authenticators = new Map<string, SoftwareAuthenticator>();
  const at = (origin: string) => {
    const authenticator = authenticators.get(origin) ?? new SoftwareAuthenticator(origin, attestation);
    authenticators.set(origin, authenticator);
    return authenticator;
  };
  return {
    environment: { CAREID_WEBAUTHN_ATTESTATION_ROOTS: files["vendor-root.pem"] as string },
    register: (pageHtml, origin) => JSON.stringify(at(origin).create(optionsOn(pageHtml) as never)),
    assert: (pageHtml, origin) => JSON.stringify(at(origin).get(optionsOn(pageHtml) as never)),
  };
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
