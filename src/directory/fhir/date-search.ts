import type { DateCriterion } from "../organisation-search.ts";
import { FhirError } from "./operation-outcome.ts";

const prefixes = { eq: "=", ne: "<>", gt: ">", lt: "<", ge: ">=", le: "<=" } as const;

/**
 * Reads each value of a date parameter (`_lastUpdated=ge2025-01-01`, `lastChangeDate=2025-03-01`):
 * a prefix (eq by default) and a date, or for `instant` parameters a date-time with its zone.
 */
export function dateComparisons(
  parameter: string,
  values: string[],
  kind: "date" | "instant",
): DateCriterion[] {
  return values.map((text) => {
    const match =
      /^(eq|ne|gt|lt|ge|le)?(\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))?)$/.exec(
        text,
      );
    const value = match?.[2] ?? "";
    const dateOnly = value.length === 10;
    if (!match || Number.isNaN(Date.parse(value)) || (kind === "date" && !dateOnly))
      throw FhirError.invalidParameter(
        `${parameter} must be ${kind === "date" ? "a date YYYY-MM-DD" : "a date or a date-time with its zone"}, optionally after eq, ne, gt, lt, ge or le`,
      );
    return { operator: prefixes[(match[1] ?? "eq") as keyof typeof prefixes], value };
  });
}
