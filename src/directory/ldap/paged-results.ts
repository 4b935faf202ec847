import { BerError, BerReader, integer, octetString, sequence } from "./ber.ts";
import type { Control } from "./messages.ts";

/** The simple paged results control (RFC 2696): a page size on request, a cookie both ways. */
export const pagedResultsOid = "1.2.840.113556.1.4.319";

export type PageRequest = { size: number; cookie: Buffer };

export function readPageRequest(control: Control): PageRequest {
  if (!control.value) throw new BerError("the paged results control needs a value");
  const value = new BerReader(control.value).readSequence();
  const size = value.readInteger();
  const cookie = value.readOctets();
  value.expectEnd("the paged results control");
  if (size < 0) throw new BerError("the page size must not be negative");
  return { size, cookie: Buffer.from(cookie) };
}

export function pageResponseControl(cookie: Buffer): Control {
  return { type: pagedResultsOid, critical: false, value: sequence([integer(0), octetString(cookie)]) };
}

export function pageRequestControl(size: number, cookie: Buffer = Buffer.alloc(0)): Control {
  return { type: pagedResultsOid, critical: false, value: sequence([integer(size), octetString(cookie)]) };
}
