import assert from "node:assert/strict";
import { test } from "node:test";
import {
  encodeMessage,
  encodeResult,
  encodeSearchEntry,
  encodeSearchEntryMessage,
  encodeSearchSuccessMessage,
  Operation,
} from "./messages.ts";

test("the one-pass search encoders write the same bytes as the general ones", () => {
  const ids = [0, 1, 127, 128, 255, 256, 32_767, 32_768, 8_388_607, 8_388_608, 2 ** 31 - 1];
  const entries = [
    { dn: "", attributes: [] },
    { dn: "o=nhs", attributes: [{ type: "objectClass", values: ["top", "organization"] }] },
    {
      dn: "uid=555000009859,ou=People,o=nhs",
      attributes: [
        { type: "objectClass", values: ["top", "nhsPerson"] },
        { type: "cn", values: ["Ní Bhriain Siobhán Dr"] },
        { type: "nhsMiddleNames", values: [] },
        // Lengths that need two and three length bytes, at every level above them.
        { type: "description", values: ["x".repeat(200), "é".repeat(40_000)] },
      ],
    },
  ];
  for (const id of ids) {
    for (const { dn, attributes } of entries)
      assert.deepEqual(
        encodeSearchEntryMessage(id, dn, attributes),
        encodeMessage(id, encodeSearchEntry(dn, attributes)),
      );
    assert.deepEqual(
      encodeSearchSuccessMessage(id),
      encodeMessage(id, encodeResult(Operation.searchResultDone, { resultCode: 0 })),
    );
  }
});
