import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { pageRenderer } from "./pages.ts";

test("a cached block is rendered once for each key, escaped once, and each block keeps its own", (t) => {
  const views = mkdtempSync(join(tmpdir(), "careid-views-"));
  t.after(() => rmSync(views, { recursive: true, force: true }));
  writeFileSync(
    join(views, "blocks.njk"),
    "[{% cached key %}{{ value }}{% endcached %}|{% cached key %}{{ other }}{% endcached %}]",
  );
  const { renderHtml } = pageRenderer([views]);
  const render = (key: string, value: string, other = "x") => renderHtml("blocks.njk", { key, value, other });
  assert.equal(render("a", "<b>"), "[&lt;b&gt;|x]");
  assert.equal(render("a", "changed", "y"), "[&lt;b&gt;|x]", "the same key, the same HTML, escaped once");
  assert.equal(render("b", "second", "z"), "[second|z]", "another key is rendered afresh");
});
