import { type Entry, makeEntry } from "./entry.ts";
import { pagedResultsOid } from "./paged-results.ts";
import { suffix } from "./tree.ts";

/** The "Who am I?" extended operation (RFC 4532). */
export const whoAmIOid = "1.3.6.1.4.1.4203.1.11.3";

/** The root DSE (RFC 4512 section 5.1): what a client learns before it knows the tree. */
export function rootDse(): Entry {
  return makeEntry("", {
    objectClass: "top",
    namingContexts: suffix,
    supportedLDAPVersion: "3",
    supportedControl: pagedResultsOid,
    supportedExtension: whoAmIOid,
    vendorName: "Care Identity Service",
    vendorVersion: "careid LDAP 1",
  });
}
