import { FhirError } from "./operation-outcome.ts";

/**
 * The query string of a FHIR search, checked against the parameters one interaction supports.
 * National FHIR APIs refuse what they do not understand rather than ignore it, so a client
 * never mistakes an ignored filter for an applied one.
 */
export class SearchParameters {
  readonly #values: Map<string, string[]>;

  constructor(query: unknown, supported: readonly string[]) {
    this.#values = new Map();
    for (const [name, value] of Object.entries((query ?? {}) as Record<string, unknown>)) {
      if (!supported.includes(name))
        throw FhirError.invalidParameter(
          `Unknown parameter ${name}; this search takes ${supported.join(", ") || "no parameters"}`,
        );
      this.#values.set(name, Array.isArray(value) ? value.map(String) : [String(value)]);
    }
  }

  has(name: string): boolean {
    return this.#values.has(name);
  }

  all(name: string): string[] {
    return this.#values.get(name) ?? [];
  }

  /** At most one value; `required` makes it mandatory. */
  single(name: string, required: true): string;
  single(name: string, required?: false): string | undefined;
  single(name: string, required = false): string | undefined {
    const values = this.all(name);
    if (values.length > 1) throw FhirError.invalidParameter(`${name} may be given only once`);
    const [value] = values;
    if (required && (value === undefined || value === ""))
      throw FhirError.missingParameter(`${name} is required`);
    if (value === "") throw FhirError.invalidParameter(`${name} must not be empty`);
    return value;
  }

  /** A paging window from `_count` and `_offset`. */
  page(defaultCount: number, maximumCount: number): Page {
    return {
      count: this.#wholeNumber("_count", defaultCount, 1, maximumCount),
      offset: this.#wholeNumber("_offset", 0, 0, 1_000_000),
    };
  }

  #wholeNumber(name: string, fallback: number, minimum: number, maximum: number): number {
    const value = this.single(name);
    if (value === undefined) return fallback;
    const number = Number(value);
    if (!/^[0-9]+$/.test(value) || number < minimum || number > maximum)
      throw FhirError.invalidParameter(`${name} must be a whole number from ${minimum} to ${maximum}`);
    return number;
  }

  /** The query as given, for the Bundle's self link. */
  entries(): [string, string][] {
    return [...this.#values].flatMap(([name, values]) =>
      values.map((value): [string, string] => [name, value]),
    );
  }
}

export type Page = { count: number; offset: number };

/**
 * A token parameter, `system|value` or a bare value. When the client names a system it must be
 * the expected one; `systemRequired` refuses a bare value where the API insists on the system.
 */
export function tokenValue(
  parameter: string,
  token: string,
  system: string,
  options: { systemRequired?: boolean } = {},
): string {
  const bar = token.indexOf("|");
  if (bar < 0) {
    if (options.systemRequired) throw FhirError.invalidParameter(`${parameter} must be ${system}|<value>`);
    return token;
  }
  const given = token.slice(0, bar);
  if (given !== system) throw FhirError.invalidParameter(`${parameter} must use the system ${system}`);
  return token.slice(bar + 1);
}
