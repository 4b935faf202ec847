import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createSign } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import * as client from "openid-client";
import { operatorActor } from "../../src/audit/actor.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { demoClientConfiguration, redirectUri } from "../cis2/journey.ts";
import { Browser, interactionAddress } from "./browser.ts";
import type { Cis2Server } from "./cis2-server.ts";

/** Smartcards for HTTP-level journeys: card keys made by openssl in place of a token. */
export type SoftCard = { serial: string; certificate: string; keyFile: string; certificateFile: string };

/** A card whose keys openssl made, issued through the agent's API on an order, as the agent would. */
export async function issueSoftCard(t: TestContext, server: Cis2Server, holder: string): Promise<SoftCard> {
  const folder = mkdtempSync(join(tmpdir(), "careid-softcard-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const request = (name: string) => {
    execFileSync(
      "openssl",
      [
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-subj",
        "/CN=card",
      ].concat(["-keyout", join(folder, `${name}.key`), "-out", join(folder, `${name}.csr`)]),
      { stdio: "ignore" },
    );
    return readFileSync(join(folder, `${name}.csr`), "utf8");
  };
  const order = await createCardOrder(server.store.db, operatorActor(), { kind: "issue", holder });
  const serial = `SOFT${holder}`;
  const response = await fetch(`${server.origin}/api/smartcards/issue`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      orderCode: order.code,
      cardSerial: serial,
      cardType: "software",
      authenticationCsr: request("authentication"),
      signingCsr: request("signing"),
    }),
  });
  assert.equal(response.status, 201, await response.clone().text());
  const issued = (await response.json()) as { certificates: { authentication: string } };
  const certificateFile = join(folder, "authentication.pem");
  writeFileSync(certificateFile, issued.certificates.authentication);
  return {
    serial,
    certificate: issued.certificates.authentication,
    keyFile: join(folder, "authentication.key"),
    certificateFile,
  };
}

export function signWith(card: SoftCard, challenge: string): string {
  return createSign("sha256")
    .update(challenge)
    .sign({ key: readFileSync(card.keyFile), dsaEncoding: "ieee-p1363" })
    .toString("base64url");
}

/** Starts a sign-in and opens the smartcard page: identified first, or letting the card say who. */
export async function smartcardPage(server: Cis2Server, identifier?: string) {
  const configuration = await demoClientConfiguration(server);
  const browser = new Browser();
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(configuration, {
    redirect_uri: redirectUri,
    scope: "openid profile",
    acr_values: "AAL3_SMARTCARD",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
    nonce,
  });
  const first = await browser.follow(await browser.get(url.href), url.href, server.origin);
  const base = interactionAddress(await first.response.text(), first.url);
  const uid = base.slice(base.lastIndexOf("/") + 1);
  if (identifier) await browser.post(`${base}/identify`, { identifier });
  const show = async () => {
    const html = await (await browser.get(`${base}/smartcard`)).text();
    return { html, challenge: /data-smartcard-challenge="([^"]+)"/.exec(html)?.[1] as string };
  };
  return { browser, uid, base, show, configuration, journey: { verifier, state, nonce } };
}
