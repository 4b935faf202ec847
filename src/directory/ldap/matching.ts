import { attributeType, normalise } from "./attributes.ts";
import { type Entry, valuesOf } from "./entry.ts";
import type { Filter } from "./filter.ts";

/**
 * Filter evaluation with LDAP's three values (RFC 4511 section 4.5.1.7): TRUE, FALSE and
 * Undefined. An entry is returned only when its filter is TRUE; Undefined arises from unknown
 * attribute types and assertions without a matching rule, and "not" keeps it Undefined.
 */
export type Truth = true | false | undefined;

export function matches(filter: Filter, entry: Entry): boolean {
  return evaluate(filter, entry) === true;
}

export function evaluate(filter: Filter, entry: Entry): Truth {
  switch (filter.kind) {
    case "and": {
      let result: Truth = true;
      for (const inner of filter.filters) {
        const truth = evaluate(inner, entry);
        if (truth === false) return false;
        if (truth === undefined) result = undefined;
      }
      return result;
    }
    case "or": {
      let result: Truth = false;
      for (const inner of filter.filters) {
        const truth = evaluate(inner, entry);
        if (truth === true) return true;
        if (truth === undefined) result = undefined;
      }
      return result;
    }
    case "not": {
      const truth = evaluate(filter.filter, entry);
      return truth === undefined ? undefined : !truth;
    }
    case "present":
      return valuesOf(entry, filter.attribute) !== undefined;
    case "equality":
    case "approx":
      return assertEquality(entry, filter.attribute, filter.value);
    case "extensible":
      // Without a type there is nothing to compare; with one, the default rule is equality.
      if (filter.attribute === undefined || filter.dnAttributes) return undefined;
      if (filter.rule !== undefined && !/^(caseIgnoreMatch|2\.5\.13\.2)$/i.test(filter.rule))
        return undefined;
      return assertEquality(entry, filter.attribute, filter.value);
    case "greaterOrEqual":
    case "lessOrEqual": {
      const type = attributeType(filter.attribute);
      if (!type?.ordering) return undefined;
      const wanted = normalise(filter.value);
      const values = valuesOf(entry, filter.attribute) ?? [];
      return values.some((value) =>
        filter.kind === "greaterOrEqual" ? normalise(value) >= wanted : normalise(value) <= wanted,
      );
    }
    case "substrings": {
      const type = attributeType(filter.attribute);
      if (!type?.substrings) return undefined;
      const values = valuesOf(entry, filter.attribute) ?? [];
      return values.some((value) => matchesSubstrings(normalise(value), filter));
    }
  }
}

function assertEquality(entry: Entry, attribute: string, value: string): Truth {
  if (!attributeType(attribute)) return undefined;
  const wanted = normalise(value);
  return (valuesOf(entry, attribute) ?? []).some((candidate) => normalise(candidate) === wanted);
}

function matchesSubstrings(value: string, filter: Filter & { kind: "substrings" }): boolean {
  let position = 0;
  if (filter.initial !== undefined) {
    const initial = normalise(filter.initial);
    if (!value.startsWith(initial)) return false;
    position = initial.length;
  }
  for (const part of filter.any) {
    const found = value.indexOf(normalise(part), position);
    if (found < 0) return false;
    position = found + normalise(part).length;
  }
  if (filter.final !== undefined) {
    const final = normalise(filter.final);
    return value.length - final.length >= position && value.endsWith(final);
  }
  return true;
}
