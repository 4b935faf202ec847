import { recordEvent } from "../audit/record.ts";
import { ConflictError, InvalidInputError, Problems } from "../errors.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { inTransaction, type Queryable } from "../store/database.ts";
import type { ApplicantDetails } from "./application.ts";
import { drivingLicenceProblems } from "./driving-licence.ts";
import { checkImage, type ImageCheck } from "./image-checks.ts";
import { applicantActor } from "./invitation-link.ts";
import { type MachineReadableZone, parseMachineReadableZone, zoneName } from "./machine-readable-zone.ts";
import { sealPhoto } from "./photo-sealing.ts";

/**
 * The applicant's photos: one photo identity document, then either a second document or a
 * digital proof of address, then their face. Each photo is checked as it arrives (a photo that
 * is not one, is huge or is a thumbnail is refused there and then); the automatic checks the
 * reviewer sees are worked out here and kept with the document.
 */
export type Slot = "photo-id" | "second-document" | "face";

export const photoIdKinds = {
  passport: "Passport",
  "driving-licence": "UK photocard driving licence",
  "national-identity-card": "National identity card",
} as const;

export const secondDocumentKinds = {
  ...photoIdKinds,
  "biometric-residence-permit": "Biometric residence permit",
  "utility-bill": "Utility bill from the last 3 months (proof of address)",
  "bank-statement": "Bank statement from the last 3 months (proof of address)",
  "council-tax": "Council tax bill for this year (proof of address)",
} as const;

const proofOfAddressKinds = new Set(["utility-bill", "bank-statement", "council-tax"]);
const zoneKinds = new Set(["passport", "national-identity-card"]);

export type Check = ImageCheck;

export type DocumentInput = {
  kind?: unknown;
  reference?: unknown;
  machineReadableZone?: unknown;
  expiresOn?: unknown;
  photo: Buffer | undefined;
};

/** Six months, as the passport rule counts them: the same day six calendar months on. */
function sixMonthsAfter(date: string): string {
  const day = new Date(`${date}T00:00:00Z`);
  day.setUTCMonth(day.getUTCMonth() + 6);
  return day.toISOString().slice(0, 10);
}

/** What the zone says, compared with what the applicant typed. */
export function zoneChecks(
  zone: MachineReadableZone,
  kind: string,
  details: Partial<ApplicantDetails>,
  today = new Date().toISOString().slice(0, 10),
): Check[] {
  const typedGiven = zoneName([details.givenName, details.middleNames].filter(Boolean).join(" "));
  const checks: Check[] = [
    { name: "machine-readable zone", outcome: "pass", detail: `${zone.format}: every check digit verified` },
    {
      name: "name",
      outcome:
        zoneName(details.familyName ?? "") === zone.familyName && typedGiven === zone.givenNames
          ? "pass"
          : "fail",
      detail: `document: ${zone.givenNames} ${zone.familyName}; typed: ${typedGiven} ${zoneName(details.familyName ?? "")}`,
    },
    {
      name: "date of birth",
      outcome: zone.dateOfBirth === details.dateOfBirth ? "pass" : "fail",
      detail: `document: ${zone.dateOfBirth}; typed: ${details.dateOfBirth ?? "none"}`,
    },
  ];
  // Section 5: a passport expired more than six months is refused; other documents must be in date.
  const expired = zone.expiresOn < today;
  const tooOld = kind === "passport" ? sixMonthsAfter(zone.expiresOn) < today : expired;
  checks.push({
    name: "expiry",
    outcome: tooOld ? "fail" : "pass",
    detail: tooOld
      ? `expired on ${zone.expiresOn}${kind === "passport" ? ", more than six months ago" : ""}`
      : expired
        ? `expired on ${zone.expiresOn}, within six months`
        : `in date until ${zone.expiresOn}`,
  });
  return checks;
}

function checkSlotInput(slot: Slot, input: DocumentInput, details: Partial<ApplicantDetails>, today: string) {
  const problems = new Problems();
  const kinds: Record<string, string> =
    slot === "photo-id" ? photoIdKinds : slot === "second-document" ? secondDocumentKinds : { face: "Face" };
  const kind = slot === "face" ? "face" : String(input.kind ?? "");
  if (!(kind in kinds)) problems.add("kind", "choose which document this is");
  const checks: Check[] = [];
  let zone: MachineReadableZone | undefined;
  let reference = typeof input.reference === "string" ? input.reference.trim() || null : null;
  let expiresOn = typeof input.expiresOn === "string" && input.expiresOn ? input.expiresOn : null;
  if (expiresOn && !/^\d{4}-\d{2}-\d{2}$/.test(expiresOn)) problems.add("expiresOn", "must be a real date");
  if (zoneKinds.has(kind) && slot === "photo-id") {
    const text = typeof input.machineReadableZone === "string" ? input.machineReadableZone : "";
    if (!text.trim())
      problems.add(
        "machineReadableZone",
        "is required: type the lines of letters and < at the foot of the photo page",
      );
    else {
      try {
        zone = parseMachineReadableZone(text, today);
        checks.push(...zoneChecks(zone, kind, details, today));
        reference = zone.documentNumber;
        expiresOn = zone.expiresOn;
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        for (const problem of error.problems) problems.add(problem.field, problem.message);
      }
    }
  }
  if (kind === "driving-licence") {
    if (!reference) problems.add("reference", "is required: the licence number (field 5)");
    else {
      const faults = drivingLicenceProblems(reference, details as ApplicantDetails);
      checks.push({
        name: "licence number",
        outcome: faults.length === 0 ? "pass" : "fail",
        detail: faults.length === 0 ? "matches the name and date of birth given" : faults.join("; "),
      });
      if (faults[0]?.startsWith("the licence number is not"))
        problems.add("reference", faults[0].replace(/^the licence number /, ""));
    }
    if (!expiresOn) problems.add("expiresOn", "is required: the date in field 4b");
    else
      checks.push({
        name: "expiry",
        outcome: expiresOn < today ? "fail" : "pass",
        detail: `${expiresOn < today ? "expired on" : "in date until"} ${expiresOn}`,
      });
  }
  if (!input.photo || input.photo.length === 0) problems.add("photo", "choose a photo to upload");
  problems.throwIfAny();
  return { kind, reference, zone, expiresOn, checks };
}

/**
 * Keeps one document's photo, sealed, with its checks; a photo sent again for the same slot
 * replaces the first. Nothing is kept when any part is refused.
 */
export async function saveDocument(
  queryable: Queryable,
  sealer: Sealer,
  id: string,
  slot: Slot,
  input: DocumentInput,
  correlationId?: string,
  today = new Date().toISOString().slice(0, 10),
): Promise<Check[]> {
  return inTransaction(queryable, async (tx) => {
    const row = await tx
      .selectFrom("apply_invitations")
      .select(["status", "details", "mobile_confirmed_at"])
      .where("id", "=", id)
      .forUpdate()
      .executeTakeFirstOrThrow();
    if (row.status !== "started" || !row.mobile_confirmed_at)
      throw new ConflictError("status: give your details and confirm your mobile first", "status");
    const checked = checkSlotInput(slot, input, row.details as Partial<ApplicantDetails>, today);
    const image = checkImage(input.photo as Buffer);
    const checks = [...checked.checks, ...image.checks];
    const sealed = sealPhoto(sealer, input.photo as Buffer);
    const values = {
      kind: checked.kind,
      reference: checked.reference,
      machine_readable_zone: checked.zone
        ? String(input.machineReadableZone)
            .toUpperCase()
            .replace(/[ \t]+/g, "")
        : null,
      expires_on: checked.expiresOn,
      media_type: image.mediaType,
      byte_size: (input.photo as Buffer).length,
      width: image.width,
      height: image.height,
      sealed_key: sealed.sealedKey,
      ciphertext: sealed.ciphertext,
      checks: JSON.stringify(checks),
      uploaded_at: new Date(),
      deleted_at: null,
    };
    await tx
      .insertInto("apply_documents")
      .values({ invitation_id: id, slot, ...values })
      .onConflict((conflict) => conflict.columns(["invitation_id", "slot"]).doUpdateSet(values))
      .execute();
    await recordEvent(tx, applicantActor(id, correlationId), {
      action: "apply.document-added",
      subject: { type: "application", id },
      after: { slot, kind: checked.kind, checks: checks.map((check) => `${check.name}: ${check.outcome}`) },
    });
    return checks;
  });
}

export type DocumentSummary = {
  slot: Slot;
  kind: string;
  reference: string | null;
  expiresOn: string | null;
  mediaType: string;
  width: number;
  height: number;
  checks: Check[];
  deleted: boolean;
};

export async function documentsOf(queryable: Queryable, id: string): Promise<DocumentSummary[]> {
  const rows = await queryable
    .selectFrom("apply_documents")
    .select([
      "slot",
      "kind",
      "reference",
      "expires_on",
      "media_type",
      "width",
      "height",
      "checks",
      "deleted_at",
    ])
    .where("invitation_id", "=", id)
    .execute();
  const order: Slot[] = ["photo-id", "second-document", "face"];
  return rows
    .map((row) => ({
      slot: row.slot,
      kind: row.kind,
      reference: row.reference,
      expiresOn: row.expires_on,
      mediaType: row.media_type,
      width: row.width,
      height: row.height,
      checks: row.checks as Check[],
      deleted: row.deleted_at !== null,
    }))
    .sort((a, b) => order.indexOf(a.slot) - order.indexOf(b.slot));
}

/**
 * Sends the application for review. Once sent the link is spent: the applicant can no longer
 * change anything, and a second submit (a double click) changes nothing.
 */
export async function submitApplication(
  queryable: Queryable,
  id: string,
  correlationId?: string,
): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const documents = await documentsOf(tx, id);
    const slots = new Set(documents.map((document) => document.slot));
    const missing = (["photo-id", "second-document", "face"] as Slot[]).filter((slot) => !slots.has(slot));
    if (missing.length > 0)
      throw InvalidInputError.field("documents", `add the rest of your photos first (${missing.join(", ")})`);
    const second = documents.find((document) => document.slot === "second-document");
    const route = proofOfAddressKinds.has(second?.kind ?? "") ? "proof-of-address" : "two-documents";
    const submitted = await tx
      .updateTable("apply_invitations")
      .set((eb) => ({
        status: "submitted",
        submitted_at: new Date(),
        evidence_route: route,
        checks: JSON.stringify(
          documents.flatMap((document) =>
            document.checks.map((check) => ({ slot: document.slot, ...check })),
          ),
        ),
        version: eb("version", "+", 1),
      }))
      .where("id", "=", id)
      .where("status", "=", "started")
      .where("mobile_confirmed_at", "is not", null)
      .executeTakeFirst();
    if (Number(submitted.numUpdatedRows) === 0)
      throw new ConflictError("status: this application has already been sent", "status");
    await recordEvent(tx, applicantActor(id, correlationId), {
      action: "apply.submitted",
      subject: { type: "application", id },
      after: { route },
    });
  });
}
