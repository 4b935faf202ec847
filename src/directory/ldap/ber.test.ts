import assert from "node:assert/strict";
import { test } from "node:test";
import { BerError, BerReader, encodeLength, integer, octetString, readHeader, sequence } from "./ber.ts";

test("integers and lengths round-trip at their edges", () => {
  for (const value of [0, 1, 127, 128, 255, 256, -1, -128, -129, 2 ** 31 - 1, -(2 ** 31)]) {
    assert.equal(new BerReader(integer(value)).readInteger(), value, String(value));
  }
  assert.deepEqual([...integer(128)], [0x02, 0x02, 0x00, 0x80]);
  assert.deepEqual([...encodeLength(127)], [0x7f]);
  assert.deepEqual([...encodeLength(128)], [0x81, 0x80]);
  assert.deepEqual([...encodeLength(65536)], [0x83, 0x01, 0x00, 0x00]);
  const long = "x".repeat(70_000);
  assert.equal(new BerReader(sequence([octetString(long)])).readSequence().readString(), long);
});

test("the reader refuses what LDAP forbids and reports what is incomplete", () => {
  assert.equal(readHeader(Buffer.from([0x30, 0x05, 0x01]), 0, 3), "incomplete");
  assert.throws(() => readHeader(Buffer.from([0x30, 0x80]), 0, 2), BerError);
  assert.throws(() => readHeader(Buffer.from([0x3f, 0x01]), 0, 2), BerError);
  assert.throws(() => new BerReader(Buffer.from([0x04, 0x05, 0x61])).readString(), BerError);
  assert.throws(() => new BerReader(Buffer.from([0x02, 0x00])).readInteger(), BerError);
  assert.throws(() => new BerReader(octetString("a")).readInteger(), /expected an integer/);
});
