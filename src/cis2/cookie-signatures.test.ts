import assert from "node:assert/strict";
import { test } from "node:test";
import Keygrip from "keygrip";
import { cookieSignatures } from "./cookie-signatures.ts";

test("cookie signatures are Keygrip's: the same signature, verified by either, any key verifying", () => {
  const keys = ["new key", "old key"];
  const ours = cookieSignatures(keys);
  const theirs = new Keygrip(keys);
  for (const data of ["_session=abc", "_interaction=x/y+z==", ""]) {
    assert.equal(ours.sign(data), theirs.sign(data));
    assert.equal(ours.index(data, theirs.sign(data)), 0);
    assert.equal(ours.index(data, new Keygrip(["old key"]).sign(data)), 1);
    assert.equal(ours.verify(data, `${ours.sign(data)}x`), false);
    assert.equal(ours.index(data, new Keygrip(["another key"]).sign(data)), -1);
  }
});
