import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { test } from "node:test";
import { demoLdapServer, ldapsearch } from "../../../test/support/ldap.ts";
import { leftOut } from "../../../test/support/prerequisites.ts";
import { BerReader, integer, octetString, sequence } from "./ber.ts";
import { encodeFilter } from "./filter.ts";
import { encodeMessage, Operation } from "./messages.ts";

/** A well-formed search request, the seed the malformed packets are cut and mutated from. */
function searchPacket(messageId: number): Buffer {
  const request = sequence(
    [
      octetString("o=nhs"),
      Buffer.from([0x0a, 0x01, 0x02]),
      Buffer.from([0x0a, 0x01, 0x00]),
      integer(0),
      integer(0),
      Buffer.from([0x01, 0x01, 0x00]),
      encodeFilter({ kind: "equality", attribute: "objectClass", value: "nhsOrg" }),
      sequence([octetString("1.1")]),
    ],
    Operation.searchRequest,
  );
  return encodeMessage(messageId, request);
}

/** A seeded generator, so a failing case can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

type Reply = { bytes: Buffer; closed: boolean };

/** Sends bytes and collects whatever comes back until the server closes or goes quiet. */
function exchange(port: number, packet: Buffer, quietMs = 300): Promise<Reply> {
  return new Promise((resolve) => {
    const socket: Socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let closed = false;
    let timer = setTimeout(finish, quietMs * 4);
    function finish() {
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed });
    }
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      clearTimeout(timer);
      timer = setTimeout(finish, quietMs);
    });
    socket.on("end", () => {
      closed = true;
      finish();
    });
    socket.on("error", () => finish());
    socket.write(packet);
  });
}

/** Result codes of every LDAPMessage in a reply, with its operation tag. */
function resultsIn(bytes: Buffer): { tag: number; resultCode?: number }[] {
  const reader = new BerReader(bytes);
  const results: { tag: number; resultCode?: number }[] = [];
  while (!reader.atEnd) {
    const message = reader.readSequence();
    message.readInteger();
    const operation = message.readElement();
    const body = message.contents(operation);
    const resultCode = operation.tag === Operation.searchResultEntry ? undefined : body.readEnumerated();
    results.push({ tag: operation.tag, resultCode });
  }
  return results;
}

test("malformed packets get protocolError or a closed connection, and the server keeps answering", async (t) => {
  if (leftOut(t, "ldap")) return;
  const { server } = await demoLdapServer(t);
  const next = random(7315);
  const seed = searchPacket(1);
  const cases: [string, Buffer][] = [
    ["empty sequence", Buffer.from([0x30, 0x00])],
    ["wrong outer tag", Buffer.from([0x31, 0x03, 0x02, 0x01, 0x01])],
    ["indefinite length", Buffer.from([0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00])],
    ["oversized length", Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02])],
    ["eight-byte length", Buffer.from([0x30, 0x88, 0, 0, 0, 0, 0, 0, 0, 5])],
    ["multi-byte tag", Buffer.from([0x30, 0x04, 0x1f, 0x81, 0x01, 0x00])],
    ["unknown operation", encodeMessage(2, sequence([integer(1)], 0x7e))],
    [
      "response sent as a request",
      encodeMessage(3, sequence([Buffer.from([0x0a, 0x01, 0x00])], Operation.bindResponse)),
    ],
    [
      "message id out of range",
      Buffer.concat([Buffer.from([0x30, 0x09]), integer(2 ** 32), Buffer.from([0x42, 0x00])]),
    ],
    [
      "filter nested too deep",
      encodeMessage(
        4,
        sequence(
          [
            octetString("o=nhs"),
            Buffer.from([0x0a, 0x01, 0x02, 0x0a, 0x01, 0x00]),
            integer(0),
            integer(0),
            Buffer.from([0x01, 0x01, 0x00]),
            nested(100),
            sequence([]),
          ],
          Operation.searchRequest,
        ),
      ),
    ],
  ];
  for (let index = 0; index < 150; index++) {
    const cut = seed.subarray(0, 2 + Math.floor(next() * (seed.length - 3)));
    const withLength = Buffer.from(cut);
    withLength[1] = cut.length - 2;
    cases.push([`truncated search ${index}`, withLength]);
    const mutated = Buffer.from(seed);
    for (let flips = 0; flips < 1 + Math.floor(next() * 4); flips++)
      mutated[2 + Math.floor(next() * (mutated.length - 2))] = Math.floor(next() * 256);
    cases.push([`mutated search ${index}`, mutated]);
    const noise = Buffer.from(
      Array.from({ length: 1 + Math.floor(next() * 64) }, () => Math.floor(next() * 256)),
    );
    cases.push([`random bytes ${index}`, noise]);
  }
  for (const [name, packet] of cases) {
    const reply = await exchange(server.port, packet, 150);
    let results: { tag: number; resultCode?: number }[];
    try {
      results = resultsIn(reply.bytes);
    } catch (error) {
      assert.fail(`${name}: the server's reply is not valid LDAP: ${(error as Error).message}`);
    }
    const done = results.filter((result) => result.resultCode !== undefined);
    // A mutation may still be a valid request; then any LDAP answer is fine. Otherwise the
    // connection ends with protocolError, or closes, or waits for the rest of a short packet.
    for (const result of done) assert.ok(result.resultCode !== undefined && result.resultCode <= 80, name);
    if (done.some((result) => result.tag === Operation.extendedResponse))
      assert.ok(
        done.some((result) => result.resultCode === 2),
        `${name}: notice of disconnection says protocolError`,
      );
  }
  const oversized = await exchange(
    server.port,
    Buffer.concat([Buffer.from([0x30, 0x83, 0x10, 0x00, 0x00]), Buffer.alloc(1000)]),
  );
  assert.deepEqual(resultsIn(oversized.bytes), [{ tag: Operation.extendedResponse, resultCode: 2 }]);
  assert.equal(oversized.closed, true, "the server closes after a message over the size limit is announced");
  const still = await ldapsearch(server.url, "o=nhs", ["-s", "base", "1.1"]);
  assert.equal(still.code, 0, "the server still answers after every malformed packet");
});

test("a search and an unsupported extended operation on one connection get their own answers", async (t) => {
  const { server } = await demoLdapServer(t);
  const extended = encodeMessage(
    9,
    sequence([octetString("1.3.6.1.4.1.1466.20037", 0x80)], Operation.extendedRequest),
  );
  const reply = await exchange(server.port, Buffer.concat([searchPacket(8), extended]));
  const results = resultsIn(reply.bytes);
  assert.ok(results.some((result) => result.tag === Operation.searchResultEntry));
  assert.ok(results.some((result) => result.tag === Operation.searchResultDone && result.resultCode === 0));
  assert.ok(results.some((result) => result.tag === Operation.extendedResponse && result.resultCode === 2));
  assert.equal(reply.closed, false, "an unsupported operation does not end the session");
});

function nested(depth: number): Buffer {
  let filter = encodeFilter({ kind: "present", attribute: "objectClass" });
  for (let level = 0; level < depth; level++) filter = sequence([filter], 0xa2);
  return filter;
}
