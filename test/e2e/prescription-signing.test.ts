import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type TestContext, test } from "node:test";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { operatorActor } from "../../src/audit/actor.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import { x509 } from "../../src/pki/engine.ts";
import { prepareSignature, signedPrescription } from "../../src/signing/signature.ts";
import { serviceTrust } from "../../src/signing/trust.ts";
import { verifyPrescription } from "../../src/signing/verifier.ts";
import { singlePositionPeople } from "../authenticators/enrolment.ts";
import { postAgentForm, startAgent } from "../support/agent.ts";
import { launchChromium } from "../support/chromium.ts";
import { freePort, startCis2Server } from "../support/cis2-server.ts";
import { leftOut } from "../support/prerequisites.ts";
import {
  jdkVerifiesPrescriptions,
  opensslVerifiesSignedInfo,
  prescriptionAt,
  samplePrescriptions,
} from "../support/prescriptions.ts";
import { softHsmCard } from "../support/tokens.ts";

const passcode = "2468";

/**
 * Signing prescriptions with a card: SoftHSM2 as the card, `careid agent` as a process, and a
 * prescribing application's page in Chromium asking the agent to sign; the holder approves the
 * batch with the passcode on the agent's own page. The verifier and openssl accept the result.
 */
test("a prescribing application's page has the card sign a repeat and an acute prescription after the holder's passcode", async (t) => {
  if (leftOut(t, "browser", "smartcard")) return;
  const { context, page } = await launchChromium(t);
  const card = softHsmCard();
  const agentPort = await freePort();
  const server = await startCis2Server(t, { CAREID_SMARTCARD_AGENT_URL: `http://127.0.0.1:${agentPort}` });
  const application = await blankSite(t, "Prescribing application");
  const stranger = await blankSite(t, "Another site");
  const agent = await startAgent(t, {
    serviceUrl: server.origin,
    card,
    port: agentPort,
    extraArguments: ["--signing-origins", application],
  });
  const db = server.store.db;
  const [holder] = (await singlePositionPeople(db, 1)) as [string];
  const order = await createCardOrder(db, operatorActor(), { kind: "issue", holder });
  const issued = await postAgentForm(agent.url, "/issue", {
    orderCode: order.code,
    passcode,
    confirmation: passcode,
  });
  assert.match(await issued.text(), new RegExp(`This smartcard is issued to ${holder}`));

  const prescriptions = [
    prescriptionAt(samplePrescriptions.repeat),
    prescriptionAt(samplePrescriptions.acute),
  ];
  const prepared = prescriptions.map((prescription) => prepareSignature(prescription));
  const digests = prepared.map((one) => createHash("sha256").update(one.signedInfo).digest("base64"));

  // The application's page asks the agent; nothing is signed before the holder approves.
  await page.goto(application);
  const call = (path: string, body?: unknown) =>
    page.evaluate(
      async ({ url, body }) => {
        const response = await fetch(url, {
          method: body ? "POST" : "GET",
          headers: body ? { "content-type": "application/json" } : {},
          body: body ? JSON.stringify(body) : undefined,
        });
        return { status: response.status, body: await response.json() };
      },
      { url: `${agent.url}${path}`, body },
    );
  const asked = await call("/api/signing/batches", { digests });
  assert.equal(asked.status, 201, JSON.stringify(asked.body));
  const { batch, approveUrl } = asked.body as { batch: string; approveUrl: string };
  assert.deepEqual((await call(`/api/signing/batches/${batch}`)).body, { status: "pending" });
  const tooMany = await call("/api/signing/batches", { digests: Array(251).fill(digests[0]) });
  assert.equal(tooMany.status, 400);

  // The holder, on the agent's own page: a wrong passcode signs nothing, the right one signs both.
  const agentPage = await context.newPage();
  await agentPage.goto(`${agent.url}${approveUrl}`);
  await agentPage.getByText(`${application} asks your smartcard to sign 2 prescriptions`).waitFor();
  await agentPage.getByLabel("Smartcard passcode").fill("9999");
  await agentPage.getByRole("button", { name: "Sign 2 prescriptions" }).click();
  await agentPage.getByText("The passcode is not correct").waitFor();
  assert.deepEqual((await call(`/api/signing/batches/${batch}`)).body, { status: "pending" });
  await agentPage.getByLabel("Smartcard passcode").fill(passcode);
  await agentPage.getByRole("button", { name: "Sign 2 prescriptions" }).click();
  await agentPage.getByText(`Your smartcard signed 2 prescriptions. Return to ${application}.`).waitFor();
  assert.doesNotMatch(agent.output(), new RegExp(`"${passcode}"|9999`), "no passcode is logged");

  const collected = await call(`/api/signing/batches/${batch}`);
  assert.equal(collected.status, 200);
  const { signatures, certificate } = collected.body as { signatures: string[]; certificate: string };
  assert.equal(signatures.length, 2);
  assert.equal((await call(`/api/signing/batches/${batch}`)).status, 404, "collected once");

  // The card's signing certificate (non-repudiation), not its authentication one.
  const signingCertificate = new x509.X509Certificate(Buffer.from(certificate, "base64"));
  const recorded = await db
    .selectFrom("pki_certificates")
    .select("profile")
    .where("serial", "=", signingCertificate.serialNumber.replace(/^0+/, "").toLowerCase())
    .executeTakeFirstOrThrow();
  assert.equal(recorded.profile, "card-signing");

  const trust = await serviceTrust(db, false);
  /** Both prescriptions, with these signatures, pass our verifier and the JDK's XML-DSig (whole, to our root). */
  async function acceptedHereAndByJdk(signatureValues: string[]) {
    const signed = prescriptions.map((prescription, index) =>
      signedPrescription(
        prescription,
        prepared[index]?.signedInfo as string,
        Buffer.from(signatureValues[index] as string, "base64"),
        new Uint8Array(signingCertificate.rawData),
      ),
    );
    for (const prescription of signed) {
      const verdict = await verifyPrescription(prescription, trust);
      assert.ok(verdict.valid, JSON.stringify(verdict.checks.filter((check) => !check.passed)));
    }
    const independent = await jdkVerifiesPrescriptions(t, signed, trust.roots[0]?.rawData as ArrayBuffer, [
      trust.issuers[0]?.rawData as ArrayBuffer,
    ]);
    assert.equal(independent.status, 0, independent.output);
    assert.equal(
      independent.output.match(/reference digest over FragmentsToBeHashed OK/g)?.length,
      prescriptions.length,
    );
  }
  await acceptedHereAndByJdk(signatures);
  assert.match(
    await opensslVerifiesSignedInfo(
      t,
      signingCertificate.rawData,
      Buffer.from(signatures[0] as string, "base64"),
      prepared[0]?.signedInfo as string,
    ),
    /Verified OK/,
  );

  // Another site's page cannot ask, and nobody but the agent's own page can approve.
  await page.goto(stranger);
  const since = agent.events.length;
  const reached = await page.evaluate(async (url) => {
    try {
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ digests: ["A".repeat(43).concat("=")] }),
      });
      return "answered";
    } catch {
      return "refused";
    }
  }, `${agent.url}/api/signing/batches`);
  assert.equal(reached, "refused");
  assert.equal((await agent.waitFor("origin-refused", since)).origin, stranger);
  const second = await fetch(`${agent.url}/api/signing/batches`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ digests }),
  });
  assert.equal(second.status, 201, "a program on the workstation (no Origin) may ask");
  const forged = await fetch(`${agent.url}/signing/${((await second.json()) as { batch: string }).batch}`, {
    method: "POST",
    headers: { origin: stranger, "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ passcode }),
  });
  assert.equal(forged.status, 403, "only the agent's own page approves");

  // The browser signing service: an application that cannot call the agent itself posts the
  // prepared SignedInfo to the service; the service's page has the agent sign; the application
  // collects the signatures from the service.
  const clientKeys = await generateKeyPair("RS512", { extractable: true });
  await addClient(
    db,
    operatorActor(),
    server.cis2.sealer,
    {
      client_id: "123456789012.apps.supplier",
      client_name: "Prescribing application",
      redirect_uris: [`${application}/callback`],
      token_endpoint_auth_method: "private_key_jwt",
      jwks: { keys: [{ ...(await exportJWK(clientKeys.publicKey)), kid: "rx", alg: "RS512", use: "sig" }] },
    },
    clientValidator(server.cis2.host),
  );
  const jwt = await new SignJWT({
    payloads: prepared.map((one, index) => ({
      id: `rx-${index}`,
      payload: Buffer.from(one.signedInfo).toString("base64"),
    })),
  })
    .setProtectedHeader({ alg: "RS512", kid: "rx" })
    .setIssuer("123456789012.apps.supplier")
    .setSubject(holder)
    .setExpirationTime("5m")
    .sign(clientKeys.privateKey);
  const requested = await fetch(`${server.origin}/signaturerequest`, {
    method: "POST",
    headers: { "content-type": "application/jwt" },
    body: jwt,
  });
  assert.equal(requested.status, 200, await requested.clone().text());
  const { token, redirectUri } = (await requested.json()) as { token: string; redirectUri: string };
  await page.goto(redirectUri);
  await page.getByRole("button", { name: "Sign with smartcard" }).click();
  const approveLink = page.getByRole("link", { name: "Open your smartcard agent to sign" });
  await approveLink.waitFor();
  await agentPage.goto(String(await approveLink.getAttribute("href")));
  await agentPage.getByText(`${server.origin} asks your smartcard to sign 2 prescriptions`).waitFor();
  await agentPage.getByLabel("Smartcard passcode").fill(passcode);
  await agentPage.getByRole("button", { name: "Sign 2 prescriptions" }).click();
  await page.getByText("You signed 2 items with your smartcard").waitFor({ timeout: 20_000 });
  const fromService = await fetch(`${server.origin}/signatureresponse/${token}`);
  assert.equal(fromService.status, 200);
  const browserSigned = (await fromService.json()) as {
    signatures: Array<{ id: string; signature: string }>;
    certificate: string;
  };
  assert.equal(browserSigned.certificate, certificate, "the card's signing certificate");
  await acceptedHereAndByJdk(browserSigned.signatures.map((signed) => signed.signature));
});

/** A page of its own origin on a free port, standing for a web application. */
async function blankSite(t: TestContext, title: string): Promise<string> {
  const site = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html" }).end(`<!doctype html><title>${title}</title>`);
  });
  await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    site.closeAllConnections();
    site.close();
  });
  return `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
}
