import assert from "node:assert/strict";
import { test } from "node:test";
import nunjucks from "nunjucks";
import { trim } from "./pages.ts";

test("the pages' trim filter answers as nunjucks' own does, for plain and safe strings", () => {
  const theirs = new nunjucks.Environment().getFilter("trim") as (value: unknown) => unknown;
  const samples = [
    "",
    "   ",
    "  two words \n",
    `\n${"    <span>indented</span>\n".repeat(200)}   `,
    "\u00a0\u2003no-break and em spaces\u3000\t",
    "\ufeffbyte order mark\r\n",
    "kept  inside",
  ];
  for (const sample of samples) {
    assert.equal(trim(sample), theirs(sample));
    const safe = trim(new nunjucks.runtime.SafeString(sample));
    assert.ok(safe instanceof nunjucks.runtime.SafeString, "a safe string stays safe");
    assert.equal(String(safe), String(theirs(new nunjucks.runtime.SafeString(sample))));
  }
  assert.equal(trim(42), "42");
});
