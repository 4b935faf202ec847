import { parseDn } from "./dn.ts";
import type { Entry } from "./entry.ts";
import { Scope } from "./messages.ts";
import { searchTree, suffix, type Tree } from "./tree.ts";

/**
 * The whole o=nhs tree as LDIF (RFC 2849), parents before children, so `slapadd` loads it into
 * OpenLDAP with sds.schema and both servers can be asked the same questions.
 */
export async function exportLdif(tree: Tree, write: (text: string) => Promise<void> | void): Promise<number> {
  let count = 0;
  for await (const entry of searchTree(tree, parseDn(suffix), Scope.sub, {
    kind: "present",
    attribute: "objectClass",
  })) {
    await write(entryToLdif(entry));
    count++;
  }
  return count;
}

export function entryToLdif(entry: Entry): string {
  const lines = [line("dn", entry.dn)];
  for (const attribute of entry.attributes)
    for (const value of attribute.values) lines.push(line(attribute.type, value));
  return `${lines.join("\n")}\n\n`;
}

/** RFC 2849's SAFE-STRING: anything else (non-ASCII, a leading space, colon or <) is base64. */
function line(name: string, value: string): string {
  return isSafe(value) ? `${name}: ${value}` : `${name}:: ${Buffer.from(value, "utf8").toString("base64")}`;
}

function isSafe(value: string): boolean {
  if (value === "") return true;
  if (value.startsWith(" ") || value.startsWith(":") || value.startsWith("<") || value.endsWith(" "))
    return false;
  for (let index = 0; index < value.length; index++) {
    const code = value.charCodeAt(index);
    if (code === 0 || code === 10 || code === 13 || code > 127) return false;
  }
  return true;
}
