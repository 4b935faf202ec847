/**
 * Professional registers a Care Identity may record, with the number format each register
 * issues and the identifier system UK Core FHIR uses for it.
 */
export type RegistrationBody = {
  code: string;
  name: string;
  pattern: RegExp;
  format: string;
  fhirSystem: string;
};

export const registrationBodies: readonly RegistrationBody[] = [
  {
    code: "GMC",
    name: "General Medical Council",
    pattern: /^(?:[0-9]{7}|L[0-9]{6})$/,
    format: "7 digits, or L and 6 digits",
    fhirSystem: "https://fhir.hl7.org.uk/Id/gmc-number",
  },
  {
    code: "NMC",
    name: "Nursing and Midwifery Council",
    pattern: /^[0-9]{2}[A-Z][0-9]{4}[A-Z]$/,
    format: "8 characters: 2 digits, a letter, 4 digits and a letter, e.g. 12A3456E",
    fhirSystem: "https://fhir.hl7.org.uk/Id/nmc-number",
  },
  {
    code: "GPhC",
    name: "General Pharmaceutical Council",
    pattern: /^2[0-9]{6}$/,
    format: "7 digits starting with 2",
    fhirSystem: "https://fhir.hl7.org.uk/Id/gphc-number",
  },
  {
    code: "HCPC",
    name: "Health and Care Professions Council",
    pattern: /^[A-Z]{2}[0-9]{1,6}$/,
    format: "2 letters and up to 6 digits, e.g. PH123456",
    fhirSystem: "https://fhir.hl7.org.uk/Id/hcpc-number",
  },
  {
    code: "GDC",
    name: "General Dental Council",
    pattern: /^[0-9]{1,6}$/,
    format: "up to 6 digits",
    fhirSystem: "https://fhir.hl7.org.uk/Id/gdc-number",
  },
];

export function registrationBody(code: string): RegistrationBody | undefined {
  return registrationBodies.find((body) => body.code.toLowerCase() === code.toLowerCase());
}
