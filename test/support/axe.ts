import assert from "node:assert/strict";
import { createRequire } from "node:module";
import type { AxeResults } from "axe-core";
import type { Page } from "playwright-core";

/** WCAG 2.2 level AA, as axe-core tags its rules. */
const wcag22aa = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];
const axePath = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

/**
 * Runs axe-core on the page as it stands and fails with every WCAG 2.2 AA violation named. The
 * pages' policy refuses injected scripts, so the browser context bypasses CSP: this checks
 * accessibility, not the policy.
 */
export async function assertAccessible(page: Page, name: string): Promise<void> {
  await page.addScriptTag({ path: axePath });
  // The test's TypeScript has no DOM library: the page's globals are typed here.
  type InPage = {
    axe: { run: (context: unknown, options: object) => Promise<AxeResults> };
    document: unknown;
  };
  const results = await page.evaluate((tags) => {
    const { axe, document } = globalThis as unknown as InPage;
    return axe.run(document, { runOnly: { type: "tag", values: tags } });
  }, wcag22aa);
  const violations = results.violations.map(
    (violation) =>
      `${violation.id} (${violation.impact}): ${violation.help}\n` +
      violation.nodes.map((node) => `    ${node.target.join(" ")}: ${node.failureSummary ?? ""}`).join("\n"),
  );
  assert.deepEqual(violations, [], `${name} at ${page.url()} has WCAG 2.2 AA violations`);
  assert.ok(results.passes.length > 0, `axe-core checked ${name}`);
}
