import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { type BrowserContext, type CDPSession, chromium, type Page } from "playwright-core";

/** Debian's Chromium; the project never downloads a browser. CI installs the package. */
export const chromiumPath = "/usr/bin/chromium";

/**
 * A headless Chromium with a fresh profile, closed and removed when the test ends. bypassCSP lets a
 * test inject its own script (axe-core) into pages whose policy would refuse it.
 */
export async function launchChromium(
  t: TestContext,
  options: { bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  if (!existsSync(chromiumPath))
    throw new Error(
      `${chromiumPath} is missing: install Debian's chromium package (apt-get install chromium)`,
    );
  const profile = mkdtempSync(join(tmpdir(), "careid-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    bypassCSP: options.bypassCSP ?? false,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

/**
 * A CTAP2 security key with user verification (a PIN the virtual key always accepts), through
 * the DevTools WebAuthn domain: browser-made ceremonies, no hardware.
 */
export async function addSecurityKey(context: BrowserContext, page: Page): Promise<CDPSession> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "usb",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    },
  });
  return cdp;
}
