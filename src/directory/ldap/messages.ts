import {
  application,
  BerError,
  BerReader,
  boolean,
  context,
  enumerated,
  integer,
  lengthSize,
  octetString,
  sequence,
  Tag,
  writeHeader,
} from "./ber.ts";
import { type Filter, readFilter } from "./filter.ts";
import type { ResultCodeValue } from "./result-codes.ts";

/** LDAPv3 messages (RFC 4511 section 4): requests decoded from BER, responses encoded to it. */

export const Operation = {
  bindRequest: application(0, true),
  bindResponse: application(1, true),
  unbindRequest: application(2, false),
  searchRequest: application(3, true),
  searchResultEntry: application(4, true),
  searchResultDone: application(5, true),
  modifyRequest: application(6, true),
  modifyResponse: application(7, true),
  addRequest: application(8, true),
  addResponse: application(9, true),
  deleteRequest: application(10, false),
  deleteResponse: application(11, true),
  modifyDnRequest: application(12, true),
  modifyDnResponse: application(13, true),
  compareRequest: application(14, true),
  compareResponse: application(15, true),
  abandonRequest: application(16, false),
  extendedRequest: application(23, true),
  extendedResponse: application(24, true),
} as const;

/** Write operations and the response each must be answered with (always unwillingToPerform). */
export const writeOperations = new Map<number, { name: string; response: number }>([
  [Operation.modifyRequest, { name: "modify", response: Operation.modifyResponse }],
  [Operation.addRequest, { name: "add", response: Operation.addResponse }],
  [Operation.deleteRequest, { name: "delete", response: Operation.deleteResponse }],
  [Operation.modifyDnRequest, { name: "modify DN", response: Operation.modifyDnResponse }],
]);

export const Scope = { base: 0, one: 1, sub: 2, children: 3 } as const;
export type ScopeValue = (typeof Scope)[keyof typeof Scope];

export type Control = { type: string; critical: boolean; value?: Buffer };

export type BindRequest = {
  kind: "bind";
  version: number;
  name: string;
  authentication: { method: "simple"; password: Buffer } | { method: "sasl"; mechanism: string };
};
export type SearchRequest = {
  kind: "search";
  base: string;
  scope: ScopeValue;
  sizeLimit: number;
  timeLimit: number;
  typesOnly: boolean;
  filter: Filter;
  attributes: string[];
};
export type CompareRequest = { kind: "compare"; entry: string; attribute: string; value: string };
export type ExtendedRequest = { kind: "extended"; name: string; value?: Buffer };
export type Request =
  | BindRequest
  | SearchRequest
  | CompareRequest
  | ExtendedRequest
  | { kind: "unbind" }
  | { kind: "abandon"; messageId: number }
  | { kind: "write"; name: string; response: number };

export type RequestMessage = { messageId: number; request: Request; controls: Control[] };

const maximumMessageId = 2 ** 31 - 1;

/** Decodes one whole LDAPMessage; any fault in its structure is a BerError. */
export function decodeMessage(buffer: Buffer): RequestMessage {
  const message = new BerReader(buffer).readSequence(Tag.sequence, "an LDAPMessage");
  const messageId = message.readInteger(Tag.integer, "the message id");
  if (messageId < 0 || messageId > maximumMessageId) throw new BerError("message id out of range");
  const request = readRequest(message);
  const controls = message.peekTag() === context(0, true) ? readControls(message) : [];
  message.expectEnd("the LDAPMessage");
  return { messageId, request, controls };
}

function readRequest(message: BerReader): Request {
  const tag = message.peekTag();
  const write = tag === undefined ? undefined : writeOperations.get(tag);
  if (write) {
    message.readElement();
    return { kind: "write", ...write };
  }
  switch (tag) {
    case Operation.bindRequest:
      return readBind(message.readSequence(Operation.bindRequest));
    case Operation.unbindRequest:
      message.readElement();
      return { kind: "unbind" };
    case Operation.searchRequest:
      return readSearch(message.readSequence(Operation.searchRequest));
    case Operation.compareRequest:
      return readCompare(message.readSequence(Operation.compareRequest));
    case Operation.abandonRequest:
      return { kind: "abandon", messageId: message.readInteger(Operation.abandonRequest) };
    case Operation.extendedRequest:
      return readExtended(message.readSequence(Operation.extendedRequest));
    default:
      throw new BerError(
        tag === undefined ? "the message has no operation" : `0x${tag.toString(16)} is not an LDAP request`,
      );
  }
}

function readBind(reader: BerReader): BindRequest {
  const version = reader.readInteger();
  const name = reader.readString();
  const tag = reader.peekTag();
  let authentication: BindRequest["authentication"];
  if (tag === context(0, false)) {
    authentication = { method: "simple", password: Buffer.from(reader.readOctets(context(0, false))) };
  } else if (tag === context(3, true)) {
    const sasl = reader.readSequence(context(3, true));
    authentication = { method: "sasl", mechanism: sasl.readString() };
  } else {
    throw new BerError("a bind needs simple or SASL authentication");
  }
  reader.expectEnd("the bind request");
  return { kind: "bind", version, name, authentication };
}

function readSearch(reader: BerReader): SearchRequest {
  const base = reader.readString(Tag.octetString, "the base object");
  const scope = reader.readEnumerated("the scope");
  if (scope < 0 || scope > 3) throw new BerError(`scope ${scope} is not base, one, sub or children`);
  const deref = reader.readEnumerated("derefAliases");
  if (deref < 0 || deref > 3) throw new BerError(`derefAliases ${deref} is out of range`);
  const sizeLimit = reader.readInteger(Tag.integer, "the size limit");
  const timeLimit = reader.readInteger(Tag.integer, "the time limit");
  if (sizeLimit < 0 || timeLimit < 0) throw new BerError("limits must not be negative");
  const typesOnly = reader.readBoolean(Tag.boolean, "typesOnly");
  const filter = readFilter(reader);
  const list = reader.readSequence(Tag.sequence, "the attribute list");
  const attributes: string[] = [];
  while (!list.atEnd) attributes.push(list.readString());
  reader.expectEnd("the search request");
  return {
    kind: "search",
    base,
    scope: scope as ScopeValue,
    sizeLimit,
    timeLimit,
    typesOnly,
    filter,
    attributes,
  };
}

function readCompare(reader: BerReader): CompareRequest {
  const entry = reader.readString();
  const assertion = reader.readSequence();
  const attribute = assertion.readString();
  const value = assertion.readString();
  assertion.expectEnd("the attribute value assertion");
  reader.expectEnd("the compare request");
  return { kind: "compare", entry, attribute, value };
}

function readExtended(reader: BerReader): ExtendedRequest {
  const name = reader.readString(context(0, false), "the request name");
  const value = reader.peekTag() === context(1, false) ? reader.readOctets(context(1, false)) : undefined;
  reader.expectEnd("the extended request");
  return { kind: "extended", name, value };
}

function readControls(message: BerReader): Control[] {
  const list = message.readSequence(context(0, true), "the controls");
  const controls: Control[] = [];
  while (!list.atEnd) {
    const control = list.readSequence(Tag.sequence, "a control");
    const type = control.readString();
    const critical = control.peekTag() === Tag.boolean ? control.readBoolean() : false;
    const value = control.peekTag() === Tag.octetString ? control.readOctets() : undefined;
    control.expectEnd("a control");
    controls.push({ type, critical, value });
  }
  return controls;
}

// Responses.

export type Result = {
  resultCode: ResultCodeValue;
  matchedDn?: string;
  message?: string;
};

function resultFields(result: Result): Buffer[] {
  return [
    enumerated(result.resultCode),
    octetString(result.matchedDn ?? ""),
    octetString(result.message ?? ""),
  ];
}

export function encodeMessage(messageId: number, operation: Buffer, controls: Control[] = []): Buffer {
  const parts = [integer(messageId), operation];
  if (controls.length > 0) parts.push(sequence(controls.map(encodeControl), context(0, true)));
  return sequence(parts);
}

export function encodeControl(control: Control): Buffer {
  return sequence([
    octetString(control.type),
    ...(control.critical ? [boolean(true)] : []),
    ...(control.value === undefined ? [] : [octetString(control.value)]),
  ]);
}

export function encodeResult(tag: number, result: Result): Buffer {
  return sequence(resultFields(result), tag);
}

export function encodeExtendedResponse(result: Result, name?: string, value?: Buffer): Buffer {
  return sequence(
    [
      ...resultFields(result),
      ...(name === undefined ? [] : [octetString(name, context(10, false))]),
      ...(value === undefined ? [] : [octetString(value, context(11, false))]),
    ],
    Operation.extendedResponse,
  );
}

export type EntryAttribute = { type: string; values: string[] };

export function encodeSearchEntry(dn: string, attributes: EntryAttribute[]): Buffer {
  return sequence(
    [
      octetString(dn),
      sequence(
        attributes.map((attribute) =>
          sequence([
            octetString(attribute.type),
            sequence(
              attribute.values.map((value) => octetString(value)),
              Tag.set,
            ),
          ]),
        ),
      ),
    ],
    Operation.searchResultEntry,
  );
}

/**
 * A whole LDAPMessage holding a searchResultEntry, byte for byte what
 * `encodeMessage(messageId, encodeSearchEntry(dn, attributes))` gives, written in one pass into
 * one buffer: the lengths are summed first (every length in BER precedes its contents), then
 * each part is written where it belongs. Attribute type names are encoded once and kept.
 * A search answers with this for every entry, so it allocates nothing per attribute or value.
 */
export function encodeSearchEntryMessage(
  messageId: number,
  dn: string,
  attributes: EntryAttribute[],
): Buffer {
  // First pass: the size of each value, the content length of each attribute's value set,
  // and the content length of each attribute, in the order the second pass writes them.
  const sizes = scratch;
  let count = 0;
  let attributesLength = 0;
  for (const attribute of attributes) {
    const setSlot = count++;
    let setLength = 0;
    for (const value of attribute.values) {
      const size = Buffer.byteLength(value, "utf8");
      sizes[count++] = size;
      setLength += 1 + lengthSize(size) + size;
    }
    sizes[setSlot] = setLength;
    const attributeLength = typeName(attribute.type).length + 1 + lengthSize(setLength) + setLength;
    attributesLength += 1 + lengthSize(attributeLength) + attributeLength;
  }
  const dnSize = Buffer.byteLength(dn, "utf8");
  const operationLength =
    1 + lengthSize(dnSize) + dnSize + 1 + lengthSize(attributesLength) + attributesLength;
  const idSize = integerSize(messageId);
  const messageLength = 2 + idSize + 1 + lengthSize(operationLength) + operationLength;
  const buffer = Buffer.allocUnsafe(1 + lengthSize(messageLength) + messageLength);

  let offset = writeHeader(buffer, 0, Tag.sequence, messageLength);
  offset = writeHeader(buffer, offset, Tag.integer, idSize);
  for (let index = idSize - 1; index >= 0; index--) buffer[offset++] = (messageId >>> (8 * index)) & 0xff;
  offset = writeHeader(buffer, offset, Operation.searchResultEntry, operationLength);
  offset = writeHeader(buffer, offset, Tag.octetString, dnSize);
  offset += buffer.write(dn, offset, dnSize, "utf8");
  offset = writeHeader(buffer, offset, Tag.sequence, attributesLength);
  let slot = 0;
  for (const attribute of attributes) {
    const name = typeName(attribute.type);
    const setLength = sizes[slot++] as number;
    offset = writeHeader(buffer, offset, Tag.sequence, name.length + 1 + lengthSize(setLength) + setLength);
    buffer.set(name, offset);
    offset += name.length;
    offset = writeHeader(buffer, offset, Tag.set, setLength);
    for (const value of attribute.values) {
      const size = sizes[slot++] as number;
      offset = writeHeader(buffer, offset, Tag.octetString, size);
      offset += buffer.write(value, offset, size, "utf8");
    }
  }
  return buffer;
}

/** Reused by encodeSearchEntryMessage, which runs to completion without yielding. */
const scratch: number[] = [];

/** Octets of a message id (0 to 2^31 - 1) as a minimal two's-complement INTEGER. */
function integerSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x8000 ? 2 : value < 0x800000 ? 3 : 4;
}

/** Encoded attribute descriptions: the names come from the schema, so there are few. */
const typeNames = new Map<string, Buffer>();

function typeName(type: string): Buffer {
  let encoded = typeNames.get(type);
  if (encoded === undefined) {
    encoded = octetString(type);
    if (typeNames.size < 1024) typeNames.set(type, encoded);
  }
  return encoded;
}

/**
 * The searchResultDone of a search that succeeded without controls, the answer to nearly every
 * search: the same bytes as `encodeMessage(id, encodeResult(searchResultDone, success))`.
 */
export function encodeSearchSuccessMessage(messageId: number): Buffer {
  const idSize = integerSize(messageId);
  const buffer = Buffer.allocUnsafe(2 + 2 + idSize + successDone.length);
  let offset = writeHeader(buffer, 0, Tag.sequence, 2 + idSize + successDone.length);
  offset = writeHeader(buffer, offset, Tag.integer, idSize);
  for (let index = idSize - 1; index >= 0; index--) buffer[offset++] = (messageId >>> (8 * index)) & 0xff;
  buffer.set(successDone, offset);
  return buffer;
}

const successDone = encodeResult(Operation.searchResultDone, { resultCode: 0 });

/** RFC 4511 section 4.4.1: the unsolicited notice sent before the server drops a connection. */
export const noticeOfDisconnection = "1.3.6.1.4.1.1466.20036";
