import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { demoPassword } from "../../src/seed/demo-sign-in.ts";
import { Browser, formAction } from "../support/browser.ts";
import type { Cis2Server } from "../support/cis2-server.ts";

/** A browser without scripts signed in to Care Identity Management through CIS2's pages. */
export async function signInToCim(
  server: Cis2Server,
  identifier: string,
  browser = new Browser(),
): Promise<{ browser: Browser; home: string }> {
  const start = `${server.origin}/cim/`;
  let { response, url } = await browser.follow(await browser.get(start), start, server.origin);
  for (let step = 0; step < 6 && response.status === 200 && !url.includes("/cim/"); step++) {
    const html = await response.text();
    const action = formAction(html, url);
    let form: Record<string, string>;
    if (action.endsWith("/identify")) form = { identifier };
    else if (action.endsWith("/password")) form = { password: demoPassword };
    else if (action.endsWith("/method")) form = { method: "AAL1_USERPASS" };
    else throw new Error(`unexpected form ${action}`);
    ({ response, url } = await browser.follow(await browser.post(action, form), action, server.origin));
  }
  assert.equal(url, start, "CIS2 sends the browser back to CIM's home page");
  assert.equal(response.status, 200);
  return { browser, home: await response.text() };
}

/** A page's HTML with the whitespace between tags and text dropped, for matching. */
export async function pageText(response: Response): Promise<string> {
  return (await response.text()).replace(/>\s+/g, ">").replace(/\s+</g, "<");
}

/** The one-time form token of the first CIM form on a page. */
export function formToken(html: string): string {
  const token = /name="_form" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(token, "the page has a form with a form token");
  return token;
}

/** Signs in to CIM in Chromium through CIS2's pages with the development password. */
export async function signInToCimInChromium(
  page: Page,
  server: Cis2Server,
  identifier: string,
): Promise<void> {
  await page.goto(`${server.origin}/cim/`);
  await page.locator('input[name="identifier"]').fill(identifier);
  await page.getByRole("button", { name: "Continue" }).click();
  await page.locator('input[name="password"]').fill(demoPassword);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`${server.origin}/cim/`);
}
