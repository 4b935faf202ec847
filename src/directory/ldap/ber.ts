/**
 * The subset of ASN.1 Basic Encoding Rules that LDAP uses (RFC 4511 section 5.1): definite
 * lengths only, single-byte tags, primitive and constructed elements. Reading is strict and
 * bounds-checked, because every byte comes from an untrusted peer: any fault is a BerError,
 * which the connection answers with protocolError.
 */

export class BerError extends Error {}

/** Tag classes and the constructed bit, for building tags: application(3, true) is 0x63. */
export const application = (number: number, constructed: boolean): number =>
  0x40 | (constructed ? 0x20 : 0) | number;
export const context = (number: number, constructed: boolean): number =>
  0x80 | (constructed ? 0x20 : 0) | number;

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  enumerated: 0x0a,
  sequence: 0x30,
  set: 0x31,
} as const;

/** Lengths beyond four bytes could only describe messages far past any limit we accept. */
const maximumLengthBytes = 4;

export type Element = { tag: number; start: number; end: number };

/**
 * Reads the elements between two offsets of a buffer. Child readers share the buffer, so
 * nothing is copied until a value is taken out.
 */
export class BerReader {
  readonly buffer: Buffer;
  private offset: number;
  private readonly end: number;

  constructor(buffer: Buffer, start = 0, end = buffer.length) {
    this.buffer = buffer;
    this.offset = start;
    this.end = end;
  }

  get atEnd(): boolean {
    return this.offset >= this.end;
  }

  peekTag(): number | undefined {
    return this.atEnd ? undefined : this.buffer[this.offset];
  }

  readElement(): Element {
    const header = readHeader(this.buffer, this.offset, this.end);
    if (header === "incomplete") throw new BerError("element runs past the end of its container");
    const element = { tag: header.tag, start: header.contentStart, end: header.contentStart + header.length };
    this.offset = element.end;
    return element;
  }

  /** Reads an element that must carry the given tag. */
  expect(tag: number, what: string): Element {
    const found = this.peekTag();
    if (found !== tag) {
      throw new BerError(
        `expected ${what} (tag 0x${hex(tag)}), found ${found === undefined ? "the end" : `0x${hex(found)}`}`,
      );
    }
    return this.readElement();
  }

  readSequence(tag: number = Tag.sequence, what = "a sequence"): BerReader {
    const element = this.expect(tag, what);
    return new BerReader(this.buffer, element.start, element.end);
  }

  readOctets(tag: number = Tag.octetString, what = "an octet string"): Buffer {
    const element = this.expect(tag, what);
    return this.buffer.subarray(element.start, element.end);
  }

  readString(tag: number = Tag.octetString, what = "a string"): string {
    return this.readOctets(tag, what).toString("utf8");
  }

  readInteger(tag: number = Tag.integer, what = "an integer"): number {
    return decodeInteger(this.buffer, this.expect(tag, what));
  }

  readEnumerated(what = "an enumerated value"): number {
    return this.readInteger(Tag.enumerated, what);
  }

  readBoolean(tag: number = Tag.boolean, what = "a boolean"): boolean {
    const element = this.expect(tag, what);
    if (element.end - element.start !== 1) throw new BerError(`${what} must be one byte long`);
    return this.buffer[element.start] !== 0;
  }

  /** A reader over the contents of an element already read. */
  contents(element: Element): BerReader {
    return new BerReader(this.buffer, element.start, element.end);
  }

  expectEnd(what: string): void {
    if (!this.atEnd) throw new BerError(`unexpected data after ${what}`);
  }
}

export type Header = { tag: number; length: number; contentStart: number };

/**
 * Reads a tag and length at an offset. "incomplete" means more bytes are needed, which a
 * stream reader waits for and a container reader treats as an error.
 */
export function readHeader(buffer: Buffer, offset: number, end: number): Header | "incomplete" {
  if (offset >= end) return "incomplete";
  const tag = buffer[offset] as number;
  if ((tag & 0x1f) === 0x1f) throw new BerError("multi-byte tags are not used by LDAP");
  if (offset + 1 >= end) return "incomplete";
  const first = buffer[offset + 1] as number;
  let length: number;
  let contentStart: number;
  if (first < 0x80) {
    length = first;
    contentStart = offset + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0) throw new BerError("indefinite lengths are not allowed in LDAP");
    if (count > maximumLengthBytes) throw new BerError(`a length of ${count} bytes is too long`);
    if (offset + 2 + count > end) return "incomplete";
    length = 0;
    for (let index = 0; index < count; index++)
      length = length * 256 + (buffer[offset + 2 + index] as number);
    contentStart = offset + 2 + count;
  }
  if (contentStart + length > end) return "incomplete";
  return { tag, length, contentStart };
}

function decodeInteger(buffer: Buffer, element: Element): number {
  const size = element.end - element.start;
  if (size < 1) throw new BerError("an integer needs at least one byte");
  // LDAP integers are at most 2^31 - 1 (maxInt); six bytes keep the arithmetic exact.
  if (size > 6) throw new BerError("integer out of range");
  return buffer.readIntBE(element.start, size);
}

function hex(value: number): string {
  return value.toString(16).padStart(2, "0");
}

// Writing: each function returns the encoded element; constructed ones take encoded children.

/** Bytes the length field of an element with `length` content bytes takes (minimal, definite). */
export function lengthSize(length: number): number {
  return length < 0x80 ? 1 : length < 0x100 ? 2 : length < 0x10000 ? 3 : length < 0x1000000 ? 4 : 5;
}

/** Tag and length of an element with `length` content bytes, written at `offset`; returns the end. */
export function writeHeader(buffer: Buffer, offset: number, tag: number, length: number): number {
  buffer[offset] = tag;
  if (length < 0x80) {
    buffer[offset + 1] = length;
    return offset + 2;
  }
  const count = lengthSize(length) - 1;
  buffer[offset + 1] = 0x80 | count;
  for (let index = count, rest = length; index >= 1; index--, rest = Math.floor(rest / 256))
    buffer[offset + 1 + index] = rest & 0xff;
  return offset + 2 + count;
}

export function encodeLength(length: number): Buffer {
  const header = Buffer.allocUnsafe(1 + lengthSize(length));
  writeHeader(header, 0, 0, length);
  return header.subarray(1);
}

export function element(tag: number, contents: Buffer | Buffer[]): Buffer {
  const parts = Array.isArray(contents) ? contents : [contents];
  let length = 0;
  for (const part of parts) length += part.length;
  const encoded = Buffer.allocUnsafe(1 + lengthSize(length) + length);
  let offset = writeHeader(encoded, 0, tag, length);
  for (const part of parts) {
    encoded.set(part, offset);
    offset += part.length;
  }
  return encoded;
}

export function sequence(children: Buffer[], tag: number = Tag.sequence): Buffer {
  return element(tag, children);
}

export function octetString(value: string | Buffer, tag: number = Tag.octetString): Buffer {
  return element(tag, typeof value === "string" ? Buffer.from(value, "utf8") : value);
}

export function integer(value: number, tag: number = Tag.integer): Buffer {
  if (!Number.isInteger(value)) throw new RangeError(`${value} is not an integer`);
  const bytes: number[] = [];
  let rest = value;
  do {
    bytes.unshift(rest & 0xff);
    rest = Math.floor(rest / 256);
  } while (rest !== 0 && rest !== -1);
  // Keep the sign bit right: a positive number whose top bit is set needs a leading zero byte.
  const top = bytes[0] as number;
  if (value >= 0 && top & 0x80) bytes.unshift(0);
  if (value < 0 && !(top & 0x80)) bytes.unshift(0xff);
  return element(tag, Buffer.from(bytes));
}

export function enumerated(value: number): Buffer {
  return integer(value, Tag.enumerated);
}

export function boolean(value: boolean, tag: number = Tag.boolean): Buffer {
  return element(tag, Buffer.from([value ? 0xff : 0]));
}
