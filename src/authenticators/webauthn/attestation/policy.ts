import { readFileSync } from "node:fs";
import type { X509Certificate } from "@peculiar/x509";
import { type Config, ConfigError } from "../../../config.ts";
import { certificatesInPem } from "./certificate-chain.ts";
import { type MetadataEntry, readMetadataBlob } from "./metadata-blob.ts";

/**
 * What an authenticator must prove to register, from configuration: attestation roots, AAGUID
 * allow and deny lists, and FIDO metadata statements by AAGUID. Loaded and checked once at start;
 * a file that cannot be read or verified stops the service with a message naming it.
 */
export type AttestationPolicy = {
  roots: X509Certificate[];
  allowedAaguids: Set<string>;
  deniedAaguids: Set<string>;
  metadata: Map<string, MetadataEntry>;
};

export const openAttestationPolicy: AttestationPolicy = {
  roots: [],
  allowedAaguids: new Set(),
  deniedAaguids: new Set(),
  metadata: new Map(),
};

export async function loadAttestationPolicy(settings: Config["webauthn"]): Promise<AttestationPolicy> {
  const problems: string[] = [];
  const roots = settings.attestationRootFiles.flatMap((file) =>
    readCertificates("CAREID_WEBAUTHN_ATTESTATION_ROOTS", file, problems),
  );
  let metadata = new Map<string, MetadataEntry>();
  if (settings.metadataFile && settings.metadataRootFile) {
    const [root] = readCertificates("CAREID_WEBAUTHN_MDS_ROOT", settings.metadataRootFile, problems);
    const blob = readText("CAREID_WEBAUTHN_MDS_FILE", settings.metadataFile, problems);
    if (root && blob !== undefined) {
      try {
        metadata = (await readMetadataBlob(blob, root)).entries;
      } catch (error) {
        problems.push(`CAREID_WEBAUTHN_MDS_FILE ${settings.metadataFile} ${(error as Error).message}`);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    roots,
    allowedAaguids: new Set(settings.allowedAaguids),
    deniedAaguids: new Set(settings.deniedAaguids),
    metadata,
  };
}

function readText(name: string, file: string, problems: string[]): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    problems.push(`${name} ${file} cannot be read: ${(error as NodeJS.ErrnoException).code ?? "error"}`);
    return undefined;
  }
}

function readCertificates(name: string, file: string, problems: string[]): X509Certificate[] {
  const text = readText(name, file, problems);
  if (text === undefined) return [];
  try {
    const certificates = certificatesInPem(text);
    if (certificates.length > 0) return certificates;
  } catch {
    // reported below
  }
  problems.push(`${name} ${file} holds no PEM certificate`);
  return [];
}
