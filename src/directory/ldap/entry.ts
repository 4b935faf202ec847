import { attributeType, normalise } from "./attributes.ts";
import type { EntryAttribute } from "./messages.ts";

/** A directory entry as the LDAP face sees it: a DN and attributes with their values. */
export type Entry = { dn: string; attributes: EntryAttribute[] };

/**
 * Builds an entry from attribute names and values, leaving out absent and empty values, so
 * each kind of entry reads as a plain list of what it publishes.
 */
export function makeEntry(dn: string, values: Record<string, string | string[] | null | undefined>): Entry {
  const attributes: EntryAttribute[] = [];
  for (const [type, value] of Object.entries(values)) {
    const list = (Array.isArray(value) ? value : [value]).filter(
      (item): item is string => typeof item === "string" && item !== "",
    );
    // Values of one attribute must differ under its equality rule, which ignores case and spaces.
    const distinct = new Map(list.map((item) => [normalise(item), item]));
    if (distinct.size > 0) attributes.push({ type, values: [...distinct.values()] });
  }
  return { dn, attributes };
}

/** The values of an attribute by any of its names, in any letter case. */
export function valuesOf(entry: Entry, name: string): string[] | undefined {
  const wanted = attributeType(name)?.name.toLowerCase() ?? name.toLowerCase();
  for (const attribute of entry.attributes) {
    if (attribute.type.toLowerCase() === wanted) return attribute.values;
  }
  return undefined;
}

/** An LDAP date for a YYYY-MM-DD date: YYYYMMDD, as SDS writes open and close dates. */
export function ldapDate(date: string | null | undefined): string | undefined {
  return date ? date.slice(0, 10).replaceAll("-", "") : undefined;
}
