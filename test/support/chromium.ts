import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { convertCertBufferToPEM, decodeAttestationObject } from "@simplewebauthn/server/helpers";
import { type BrowserContext, type CDPSession, chromium, type Page } from "playwright-core";
import { assertCategoryReady } from "./prerequisites.ts";

/** Debian's Chromium; the project never downloads a browser. npm test's pretest installs the package. */
export const chromiumPath = "/usr/bin/chromium";

/**
 * A headless Chromium with a fresh profile, closed and removed when the test ends. bypassCSP lets a
 * test inject its own script (axe-core) into pages whose policy would refuse it.
 */
export async function launchChromium(
  t: TestContext,
  options: { bypassCSP?: boolean } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  assertCategoryReady("browser");
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
  // Two cores shared with other test processes: give slow moments room rather than fail.
  context.setDefaultTimeout(60_000);
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

export type VirtualAuthenticator = { cdp: CDPSession; authenticatorId: string };

/**
 * A CTAP2 authenticator with user verification (a PIN or biometric the virtual device always
 * accepts), through the DevTools WebAuthn domain: browser-made ceremonies, no hardware. The
 * default is a USB security key; `internal` makes a platform authenticator (Windows Hello, an
 * iPad, a passkey), and backup eligibility a synced passkey.
 */
export async function addAuthenticator(
  context: BrowserContext,
  page: Page,
  options: { transport?: "usb" | "internal"; backupEligible?: boolean } = {},
): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: options.transport ?? "usb",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      defaultBackupEligibility: options.backupEligible ?? false,
      defaultBackupState: options.backupEligible ?? false,
    },
  });
  return { cdp, authenticatorId };
}

export async function removeAuthenticator(authenticator: VirtualAuthenticator): Promise<void> {
  await authenticator.cdp.send("WebAuthn.removeVirtualAuthenticator", {
    authenticatorId: authenticator.authenticatorId,
  });
}

export async function addSecurityKey(context: BrowserContext, page: Page): Promise<CDPSession> {
  return (await addAuthenticator(context, page)).cdp;
}

/**
 * The certificate Chromium's virtual authenticators sign their attestations with: made by one
 * scratch registration at `origin` (any page on localhost), then forgotten. Chromium issues it
 * afresh each time under the same name and key, so it serves as a trust anchor for later ones,
 * as a vendor's attestation root does for real authenticators.
 */
export async function virtualAttestationCertificate(
  page: Page,
  origin: string,
  authenticator: VirtualAuthenticator,
): Promise<string> {
  await page.goto(origin);
  const attestationObject = await page.evaluate(async () => {
    const browser = globalThis as unknown as {
      navigator: {
        credentials: { create(options: object): Promise<{ response: { attestationObject: ArrayBuffer } }> };
      };
    };
    const credential = await browser.navigator.credentials.create({
      publicKey: {
        rp: { id: "localhost", name: "scratch" },
        user: { id: new Uint8Array([1]), name: "scratch", displayName: "scratch" },
        challenge: new Uint8Array(32),
        pubKeyCredParams: [{ type: "public-key", alg: -7 }],
        attestation: "direct",
      },
    });
    return [...new Uint8Array(credential.response.attestationObject)];
  });
  await authenticator.cdp.send("WebAuthn.clearCredentials", {
    authenticatorId: authenticator.authenticatorId,
  });
  const [certificate] =
    decodeAttestationObject(new Uint8Array(attestationObject)).get("attStmt").get("x5c") ?? [];
  if (!certificate) throw new Error("Chromium's virtual authenticator gave no attestation certificate");
  return convertCertBufferToPEM(certificate);
}
