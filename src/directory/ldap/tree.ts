import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Db } from "../../store/database.ts";
import { hasNulByte } from "../../store/text.ts";
import { attributeType, normalise } from "./attributes.ts";
import { type DnPath, formatDn } from "./dn.ts";
import { type Entry, makeEntry } from "./entry.ts";
import type { Filter } from "./filter.ts";
import { matches } from "./matching.ts";
import { Scope, type ScopeValue } from "./messages.ts";
import { organisationSource } from "./organisation-entries.ts";
import { orgPersonSource, personSource, roleSource } from "./people-entries.ts";
import { accreditedSystemSource, messagingEndpointSource } from "./service-entries.ts";
import type { EntrySource, Keys, PathStep } from "./source.ts";

/**
 * The o=nhs tree: four fixed containers and the kinds of entry read from the database, in the
 * order a subtree search returns them (parents before children, as LDIF needs them too).
 */
export type Tree = { db: Db; sources: EntrySource[] };

export const suffix = "o=nhs";

const containers: { path: PathStep[]; entry: Entry }[] = [
  {
    path: [{ type: "o", value: "nhs" }],
    entry: makeEntry("o=nhs", { objectClass: ["top", "organization"], o: "nhs" }),
  },
  ...["Organisations", "People", "Services"].map((unit) => ({
    path: [
      { type: "o", value: "nhs" },
      { type: "ou", value: unit },
    ],
    entry: makeEntry(`ou=${unit},o=nhs`, { objectClass: ["top", "organizationalUnit"], ou: unit }),
  })),
];

export function makeTree(db: Db, lists: CodeLists): Tree {
  return {
    db,
    sources: [
      organisationSource,
      personSource,
      orgPersonSource,
      roleSource(lists),
      accreditedSystemSource,
      messagingEndpointSource,
    ],
  };
}

/** How many rows one read fetches when a search walks a whole kind of entry. */
const batchSize = 500;

/**
 * Every entry within a base and scope that matches a filter, read lazily: a caller that stops
 * (size limit, abandoned page) reads no further batches.
 */
export async function* searchTree(
  tree: Tree,
  base: DnPath,
  scope: ScopeValue,
  filter: Filter,
): AsyncGenerator<Entry> {
  for (const container of containers) {
    if (placement(container.path, base, scope) && matches(filter, container.entry)) yield container.entry;
  }
  for (const source of tree.sources) {
    const bound = placement(source.path, base, scope);
    if (!bound || !couldMatch(filter, source)) continue;
    const keys = narrowKeys(bound, filter, source);
    if (!keys) continue;
    let after: string | undefined;
    for (;;) {
      const entries = await source.read(tree.db, keys, after, batchSize);
      for (const entry of entries) if (matches(filter, entry)) yield entry;
      if (entries.length < batchSize) break;
      const last = entries[entries.length - 1];
      if (!last) break;
      after = source.cursor(last);
    }
  }
}

/** The entry a DN names, if it exists. */
export async function findEntry(tree: Tree, dn: DnPath): Promise<Entry | undefined> {
  for await (const entry of searchTree(tree, dn, Scope.base, { kind: "present", attribute: "objectClass" }))
    return entry;
  return undefined;
}

/** For noSuchObject: the deepest ancestor of a DN that exists, as RFC 4511 asks. */
export async function matchedAncestor(tree: Tree, dn: DnPath): Promise<string> {
  for (let length = dn.length - 1; length > 0; length--) {
    const ancestor = dn.slice(0, length);
    if (await findEntry(tree, ancestor)) return formatDn(ancestor);
  }
  return "";
}

/**
 * Whether entries of a kind lie within a base and scope, and if so the keys the base binds
 * (a base of uid=X,ou=People,o=nhs binds uuid X for every kind below a person).
 */
function placement(path: PathStep[], base: DnPath, scope: ScopeValue): Keys | undefined {
  if (base.length > path.length) return undefined;
  const depthFits =
    scope === Scope.base
      ? path.length === base.length
      : scope === Scope.one
        ? path.length === base.length + 1
        : scope === Scope.sub
          ? path.length >= base.length
          : path.length > base.length;
  if (!depthFits) return undefined;
  const keys: Keys = new Map();
  for (let index = 0; index < base.length; index++) {
    const step = path[index];
    const rdn = base[index];
    if (!step || !rdn) return undefined;
    if (rdn.type !== step.type.toLowerCase() && attributeType(rdn.type)?.name !== step.type) return undefined;
    if ("value" in step) {
      if (normalise(rdn.value) !== normalise(step.value)) return undefined;
    } else keys.set(step.key, [normalise(rdn.value)]);
  }
  return keys;
}

/**
 * Adds what the filter requires of narrowable attributes to the keys bound by the base. Returns
 * undefined when the two contradict, so the kind holds no match at all. A value with a NUL byte
 * (which an assertion or DN may carry, but no stored value can) matches nothing, as RFC 4511
 * evaluates an assertion no value can satisfy: the search finds no entry, the base is
 * noSuchObject, and no such value reaches the database.
 */
function narrowKeys(bound: Keys, filter: Filter, source: EntrySource): Keys | undefined {
  const keys: Keys = new Map(bound);
  for (const [attribute, key] of Object.entries(source.narrowing)) {
    const required = requiredValues(filter, attribute);
    if (required === undefined) continue;
    const existing = keys.get(key);
    keys.set(key, existing ? existing.filter((value) => required.includes(value)) : required);
  }
  for (const [key, values] of keys) {
    const storable = values.filter((value) => !hasNulByte(value));
    if (storable.length === 0) return undefined;
    keys.set(key, storable);
  }
  return keys;
}

/**
 * The values an attribute must equal for the filter to be TRUE, or undefined when the filter
 * does not pin it down. Only ever a superset of the true matches: evaluation still follows.
 */
function requiredValues(filter: Filter, attribute: string): string[] | undefined {
  switch (filter.kind) {
    case "equality":
    case "approx":
      return sameAttribute(filter.attribute, attribute) ? [normalise(filter.value)] : undefined;
    case "and": {
      let result: string[] | undefined;
      for (const inner of filter.filters) {
        const values = requiredValues(inner, attribute);
        if (values === undefined) continue;
        result = result === undefined ? values : result.filter((value) => values.includes(value));
      }
      return result;
    }
    case "or": {
      const union = new Set<string>();
      for (const inner of filter.filters) {
        const values = requiredValues(inner, attribute);
        if (values === undefined) return undefined;
        for (const value of values) union.add(value);
      }
      return filter.filters.length > 0 ? [...union] : undefined;
    }
    default:
      return undefined;
  }
}

function sameAttribute(name: string, lowerCaseName: string): boolean {
  const type = attributeType(name);
  const other = attributeType(lowerCaseName);
  return type !== undefined && type === other;
}

/**
 * Whether any entry of a kind could match, judged from its object classes and the attributes
 * it can carry: (objectClass=nhsAs) rules out every kind but nhsAs without reading a row.
 */
function couldMatch(filter: Filter, source: EntrySource): boolean {
  const truth = judge(filter, source);
  return truth === "maybe" || truth === true;
}

type Judgement = boolean | undefined | "maybe";

function judge(filter: Filter, source: EntrySource): Judgement {
  switch (filter.kind) {
    case "and": {
      const results = filter.filters.map((inner) => judge(inner, source));
      if (results.includes(false)) return false;
      if (results.includes(undefined)) return results.includes("maybe") ? "maybe" : undefined;
      return results.every((result) => result === true) ? true : "maybe";
    }
    case "or": {
      const results = filter.filters.map((inner) => judge(inner, source));
      if (results.includes(true)) return true;
      if (results.every((result) => result === false)) return false;
      return "maybe";
    }
    case "not": {
      const inner = judge(filter.filter, source);
      return typeof inner === "boolean" ? !inner : inner;
    }
    case "extensible":
      return "maybe";
    default: {
      const type = attributeType(filter.attribute);
      if (!type) return undefined;
      if (type.name === "objectClass") {
        if (filter.kind === "present") return true;
        if (filter.kind === "equality" || filter.kind === "approx")
          return source.objectClasses.some((name) => name.toLowerCase() === normalise(filter.value));
        return "maybe";
      }
      if (!source.attributes.includes(type.name)) {
        if (filter.kind === "substrings" && !type.substrings) return undefined;
        if ((filter.kind === "greaterOrEqual" || filter.kind === "lessOrEqual") && !type.ordering)
          return undefined;
        return false;
      }
      return "maybe";
    }
  }
}
