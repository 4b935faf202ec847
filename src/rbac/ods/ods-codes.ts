import { readFileSync } from "node:fs";

type OdsCodesFile = {
  roles: Record<string, string>;
  relationships: Record<string, string>;
  hierarchy: string[];
};

/** The ODS code lists this service names (src/rbac/data/ods-codes.json). */
export const odsCodes: OdsCodesFile = JSON.parse(
  readFileSync(new URL("../data/ods-codes.json", import.meta.url), "utf8"),
);

/** A role's ODS name, or its code when the list does not name it. */
export function roleName(code: string): string {
  return odsCodes.roles[code] ?? code;
}

export function relationshipName(code: string): string {
  return odsCodes.relationships[code] ?? code;
}

export const roleCodePattern = /^RO[0-9]{1,4}$/;
export const relationshipCodePattern = /^RE[0-9]{1,4}$/;
