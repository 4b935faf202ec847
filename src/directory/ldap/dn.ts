import { LdapError, ResultCode } from "./result-codes.ts";

/**
 * Distinguished names (RFC 4514). The directory's own DNs hold only digits and ODS codes, but a
 * client may write a base with escapes, spaces after commas or other letter case, so names are
 * parsed into attribute type and value pairs and compared in that form.
 */
export type Rdn = { type: string; value: string };

/** RDNs from the root down: o=nhs first. */
export type DnPath = Rdn[];

export function parseDn(text: string): DnPath {
  const rdns: Rdn[] = [];
  if (text.trim() === "") return rdns;
  for (const part of splitUnescaped(text, ",")) {
    const equals = part.indexOf("=");
    if (equals < 1) throw invalidDn(text);
    const type = part.slice(0, equals).trim().toLowerCase();
    if (!/^([a-z][a-z0-9-]*|[0-9]+(\.[0-9]+)*)$/.test(type)) throw invalidDn(text);
    const value = unescapeValue(part.slice(equals + 1).trim(), text);
    // Multi-valued RDNs (a+b) do not occur in this tree; kept whole, they simply match nothing.
    rdns.push({ type, value });
  }
  return rdns.reverse();
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === "\\" && index + 1 < text.length) {
      current += character + text[index + 1];
      index++;
    } else if (character === separator) {
      parts.push(current);
      current = "";
    } else current += character;
  }
  parts.push(current);
  return parts;
}

function unescapeValue(value: string, whole: string): string {
  if (value.startsWith("#")) throw invalidDn(whole);
  const bytes: number[] = [];
  for (let index = 0; index < value.length; index++) {
    const character = value[index] as string;
    if (character !== "\\") {
      bytes.push(...Buffer.from(character, "utf8"));
      continue;
    }
    const pair = value.slice(index + 1, index + 3);
    if (/^[0-9a-fA-F]{2}$/.test(pair)) {
      bytes.push(Number.parseInt(pair, 16));
      index += 2;
    } else if (index + 1 < value.length) {
      bytes.push(...Buffer.from(value[index + 1] as string, "utf8"));
      index++;
    } else throw invalidDn(whole);
  }
  return Buffer.from(bytes).toString("utf8");
}

function invalidDn(text: string): LdapError {
  return new LdapError(ResultCode.invalidDNSyntax, `"${text.slice(0, 200)}" is not a valid DN`);
}

export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (character) => `\\${character}`)
    .replace(/^[ #]/, (character) => `\\${character}`)
    .replace(/ $/, "\\ ");
}

export function formatDn(path: DnPath): string {
  return [...path]
    .reverse()
    .map((rdn) => `${rdn.type}=${escapeDnValue(rdn.value)}`)
    .join(",");
}

/** Compares one RDN with a type and value as caseIgnoreMatch does. */
export function sameRdn(rdn: Rdn, type: string, value: string): boolean {
  return rdn.type === type.toLowerCase() && rdn.value.toLowerCase() === value.toLowerCase();
}
