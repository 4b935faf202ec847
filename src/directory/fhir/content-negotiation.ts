/** Media types a FHIR JSON API may answer with; the first is what it sends. */
export const fhirJson = "application/fhir+json";
const acceptable = new Set([fhirJson, "application/json", "application/*", "*/*"]);

/**
 * Whether an Accept header admits FHIR JSON. No header means anything goes; parameters such as
 * `fhirVersion=4.0` or `q=` are allowed, but a type given with `q=0` is a refusal.
 */
export function acceptsFhirJson(accept: string | undefined): boolean {
  if (!accept?.trim()) return true;
  return accept.split(",").some((part) => {
    const [type = "", ...parameters] = part.split(";").map((piece) => piece.trim().toLowerCase());
    const refused = parameters.some((parameter) => /^q=0(\.0*)?$/.test(parameter));
    return acceptable.has(type) && !refused;
  });
}
