import { Problems } from "../errors.ts";

/**
 * Identity checks an RA records when creating a verified profile face to face: three original
 * documents, at least one with a photo and at least one proving the address, the name exactly
 * as on the photo ID, and the RA's confirmation that they saw them.
 */
export const documentKinds = {
  passport: { photo: true, address: false, label: "Passport" },
  "driving-licence": { photo: true, address: true, label: "UK photocard driving licence" },
  "national-identity-card": { photo: true, address: false, label: "EU/EEA national identity card" },
  "biometric-residence-permit": { photo: true, address: false, label: "Biometric residence permit" },
  "armed-forces-id": { photo: true, address: false, label: "HM Forces identity card" },
  "utility-bill": { photo: false, address: true, label: "Utility bill (last 3 months)" },
  "bank-statement": { photo: false, address: true, label: "Bank or building society statement" },
  "council-tax": { photo: false, address: true, label: "Council tax statement" },
  "mortgage-statement": { photo: false, address: true, label: "Mortgage statement" },
  "birth-certificate": { photo: false, address: false, label: "Full birth certificate" },
  "marriage-certificate": {
    photo: false,
    address: false,
    label: "Marriage or civil partnership certificate",
  },
  p60: { photo: false, address: false, label: "P60 or payslip" },
} as const;

export type DocumentKind = keyof typeof documentKinds;

export type IdentityDocument = {
  kind: DocumentKind;
  /** The document's number as printed (kept so a later check can trace it). */
  reference: string;
  /** The holder's name exactly as the document shows it; required on photo ID. */
  nameOnDocument: string | null;
  /** For documents that expire: a photo ID must be in date. */
  expiresOn: string | null;
};

export type IdentityChecks = {
  documents: IdentityDocument[];
  /** The RA confirms they saw the originals and the person matches the photo. */
  confirmed: boolean;
};

export type IdentityChecksInput = { documents?: unknown; confirmed?: unknown };

function fullName(person: { givenName: string; middleNames: string | null; familyName: string }): string {
  return [person.givenName, person.middleNames, person.familyName].filter(Boolean).join(" ");
}

function checkDocument(
  problems: Problems,
  value: unknown,
  index: number,
  today: string,
): IdentityDocument | undefined {
  const field = `identityChecks.documents[${index}]`;
  const input = (value ?? {}) as Record<string, unknown>;
  const kind = String(input.kind ?? "");
  if (!(kind in documentKinds)) {
    problems.add(`${field}.kind`, `must be one of ${Object.keys(documentKinds).join(", ")}`);
    return undefined;
  }
  const reference = typeof input.reference === "string" ? input.reference.trim() : "";
  if (reference.length < 3 || reference.length > 50)
    problems.add(
      `${field}.reference`,
      "is required: the document's number or reference (3 to 50 characters)",
    );
  const nameOnDocument =
    typeof input.nameOnDocument === "string" && input.nameOnDocument.trim()
      ? input.nameOnDocument.trim()
      : null;
  const expiresOn = typeof input.expiresOn === "string" && input.expiresOn ? input.expiresOn : null;
  if (expiresOn && !/^\d{4}-\d{2}-\d{2}$/.test(expiresOn))
    problems.add(`${field}.expiresOn`, "must be a date written YYYY-MM-DD");
  const photo = documentKinds[kind as DocumentKind].photo;
  if (photo && !nameOnDocument) problems.add(`${field}.nameOnDocument`, "is required for photo ID");
  if (photo && expiresOn && expiresOn < today) problems.add(`${field}.expiresOn`, "the photo ID has expired");
  return { kind: kind as DocumentKind, reference, nameOnDocument, expiresOn };
}

/** Checks the evidence against the profile it is for; every fault is named at once. */
export function checkIdentityChecks(
  input: IdentityChecksInput | undefined,
  person: { givenName: string; middleNames: string | null; familyName: string },
  today = new Date().toISOString().slice(0, 10),
): IdentityChecks {
  const problems = new Problems();
  const list = Array.isArray(input?.documents) ? input.documents : [];
  if (list.length !== 3) problems.add("identityChecks.documents", "must list exactly three documents");
  const documents = list
    .map((document, index) => checkDocument(problems, document, index, today))
    .filter((document) => document !== undefined);
  if (list.length === 3 && documents.length === 3) {
    if (!documents.some((document) => documentKinds[document.kind].photo))
      problems.add("identityChecks.documents", "must include one photo ID");
    if (!documents.some((document) => documentKinds[document.kind].address))
      problems.add("identityChecks.documents", "must include one proof of address");
    const seen = new Set(documents.map((document) => `${document.kind}:${document.reference.toUpperCase()}`));
    if (seen.size < documents.length)
      problems.add("identityChecks.documents", "lists the same document twice");
  }
  const name = fullName(person);
  documents.forEach((document, index) => {
    if (document.nameOnDocument && document.nameOnDocument !== name)
      problems.add(
        `identityChecks.documents[${index}].nameOnDocument`,
        `"${document.nameOnDocument}" does not match the profile's name "${name}" exactly`,
      );
  });
  if (input?.confirmed !== true)
    problems.add("identityChecks.confirmed", "the RA must confirm they have seen the original documents");
  problems.throwIfAny();
  return { documents, confirmed: true };
}
