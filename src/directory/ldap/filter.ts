import { BerError, type BerReader, context, element, octetString, sequence } from "./ber.ts";

/**
 * Search filters (RFC 4511 section 4.5.1): decoding from BER, encoding (for tests and tools)
 * and the string form of RFC 4515 for logs. Evaluation against entries is in matching.ts.
 */
export type Filter =
  | { kind: "and"; filters: Filter[] }
  | { kind: "or"; filters: Filter[] }
  | { kind: "not"; filter: Filter }
  | { kind: "equality" | "greaterOrEqual" | "lessOrEqual" | "approx"; attribute: string; value: string }
  | { kind: "substrings"; attribute: string; initial?: string; any: string[]; final?: string }
  | { kind: "present"; attribute: string }
  | { kind: "extensible"; attribute?: string; rule?: string; value: string; dnAttributes: boolean };

const FilterTag = {
  and: context(0, true),
  or: context(1, true),
  not: context(2, true),
  equality: context(3, true),
  substrings: context(4, true),
  greaterOrEqual: context(5, true),
  lessOrEqual: context(6, true),
  present: context(7, false),
  approx: context(8, true),
  extensible: context(9, true),
} as const;

/** Deeper nesting than this is no real query, only a way to exhaust the stack. */
const maximumDepth = 32;
const maximumTerms = 512;

export function readFilter(reader: BerReader): Filter {
  const budget = { terms: 0 };
  return readFilterAt(reader, 0, budget);
}

function readFilterAt(reader: BerReader, depth: number, budget: { terms: number }): Filter {
  if (depth > maximumDepth) throw new BerError(`filter nested deeper than ${maximumDepth}`);
  if (++budget.terms > maximumTerms) throw new BerError(`filter has more than ${maximumTerms} terms`);
  const item = reader.readElement();
  const inner = reader.contents(item);
  switch (item.tag) {
    case FilterTag.and:
    case FilterTag.or: {
      const filters: Filter[] = [];
      while (!inner.atEnd) filters.push(readFilterAt(inner, depth + 1, budget));
      return { kind: item.tag === FilterTag.and ? "and" : "or", filters };
    }
    case FilterTag.not: {
      const filter = readFilterAt(inner, depth + 1, budget);
      inner.expectEnd("a not filter");
      return { kind: "not", filter };
    }
    case FilterTag.equality:
    case FilterTag.greaterOrEqual:
    case FilterTag.lessOrEqual:
    case FilterTag.approx: {
      const attribute = inner.readString();
      const value = inner.readString();
      inner.expectEnd("an attribute value assertion");
      const kind =
        item.tag === FilterTag.equality
          ? "equality"
          : item.tag === FilterTag.greaterOrEqual
            ? "greaterOrEqual"
            : item.tag === FilterTag.lessOrEqual
              ? "lessOrEqual"
              : "approx";
      return { kind, attribute, value };
    }
    case FilterTag.substrings:
      return readSubstrings(inner);
    case FilterTag.present:
      return { kind: "present", attribute: reader.buffer.toString("utf8", item.start, item.end) };
    case FilterTag.extensible:
      return readExtensible(inner);
    default:
      throw new BerError(`unknown filter tag 0x${item.tag.toString(16)}`);
  }
}

function readSubstrings(inner: BerReader): Filter {
  const attribute = inner.readString();
  const parts = inner.readSequence();
  const filter: Filter & { kind: "substrings" } = { kind: "substrings", attribute, any: [] };
  let count = 0;
  while (!parts.atEnd) {
    const part = parts.readElement();
    const value = parts.buffer.toString("utf8", part.start, part.end);
    if (part.tag === context(0, false) && count === 0) filter.initial = value;
    else if (part.tag === context(1, false) && filter.final === undefined) filter.any.push(value);
    else if (part.tag === context(2, false) && filter.final === undefined) filter.final = value;
    else throw new BerError("substrings must be initial?, any*, final? in that order");
    count++;
  }
  if (count === 0) throw new BerError("a substrings filter needs at least one part");
  inner.expectEnd("a substrings filter");
  return filter;
}

function readExtensible(inner: BerReader): Filter {
  let rule: string | undefined;
  let attribute: string | undefined;
  if (inner.peekTag() === context(1, false)) rule = inner.readString(context(1, false));
  if (inner.peekTag() === context(2, false)) attribute = inner.readString(context(2, false));
  const value = inner.readString(context(3, false), "the match value");
  let dnAttributes = false;
  if (inner.peekTag() === context(4, false)) dnAttributes = inner.readBoolean(context(4, false));
  inner.expectEnd("an extensible match");
  if (rule === undefined && attribute === undefined)
    throw new BerError("an extensible match needs a matching rule or a type");
  return { kind: "extensible", attribute, rule, value, dnAttributes };
}

export function encodeFilter(filter: Filter): Buffer {
  switch (filter.kind) {
    case "and":
    case "or":
      return sequence(filter.filters.map(encodeFilter), FilterTag[filter.kind]);
    case "not":
      return element(FilterTag.not, encodeFilter(filter.filter));
    case "equality":
    case "greaterOrEqual":
    case "lessOrEqual":
    case "approx":
      return sequence([octetString(filter.attribute), octetString(filter.value)], FilterTag[filter.kind]);
    case "substrings": {
      const parts = [
        ...(filter.initial === undefined ? [] : [octetString(filter.initial, context(0, false))]),
        ...filter.any.map((value) => octetString(value, context(1, false))),
        ...(filter.final === undefined ? [] : [octetString(filter.final, context(2, false))]),
      ];
      return sequence([octetString(filter.attribute), sequence(parts)], FilterTag.substrings);
    }
    case "present":
      return octetString(filter.attribute, FilterTag.present);
    case "extensible":
      return sequence(
        [
          ...(filter.rule === undefined ? [] : [octetString(filter.rule, context(1, false))]),
          ...(filter.attribute === undefined ? [] : [octetString(filter.attribute, context(2, false))]),
          octetString(filter.value, context(3, false)),
          ...(filter.dnAttributes ? [element(context(4, false), Buffer.from([0xff]))] : []),
        ],
        FilterTag.extensible,
      );
  }
}

/** The RFC 4515 string form, for logs and test messages. */
export function filterToString(filter: Filter): string {
  switch (filter.kind) {
    case "and":
      return `(&${filter.filters.map(filterToString).join("")})`;
    case "or":
      return `(|${filter.filters.map(filterToString).join("")})`;
    case "not":
      return `(!${filterToString(filter.filter)})`;
    case "equality":
      return `(${filter.attribute}=${escapeValue(filter.value)})`;
    case "greaterOrEqual":
      return `(${filter.attribute}>=${escapeValue(filter.value)})`;
    case "lessOrEqual":
      return `(${filter.attribute}<=${escapeValue(filter.value)})`;
    case "approx":
      return `(${filter.attribute}~=${escapeValue(filter.value)})`;
    case "present":
      return `(${filter.attribute}=*)`;
    case "substrings":
      return `(${filter.attribute}=${escapeValue(filter.initial ?? "")}*${filter.any.map((part) => `${escapeValue(part)}*`).join("")}${escapeValue(filter.final ?? "")})`;
    case "extensible":
      return `(${filter.attribute ?? ""}${filter.dnAttributes ? ":dn" : ""}${filter.rule ? `:${filter.rule}` : ""}:=${escapeValue(filter.value)})`;
  }
}

function escapeValue(value: string): string {
  return value.replace(
    /[*()\\\0]/g,
    (character) => `\\${character.charCodeAt(0).toString(16).padStart(2, "0")}`,
  );
}
