import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import Fastify from "fastify";
import { issueCard } from "../../src/authenticators/smartcard/cards.ts";
import { issueSmartcardChallenge } from "../../src/authenticators/smartcard/challenges.ts";
import { createCardOrder } from "../../src/authenticators/smartcard/orders.ts";
import { createPerson } from "../../src/people/people.ts";
import { type CertificateAuthority, openCertificateAuthority } from "../../src/pki/certificate-authority.ts";
import { type CryptoKeyPair, toPem, webcrypto, x509 } from "../../src/pki/engine.ts";
import { registerPki } from "../../src/pki/routes.ts";
import { sealerFor } from "../../src/secrets/sealed.ts";
import type { Store } from "../../src/store/database.ts";

export const testSealer = sealerFor(Buffer.alloc(32, 7));
export const testActor = { kind: "operator" as const, id: "tester", source: "CLI" };

export async function testAuthority(
  store: Store,
  baseUrl = "http://pki.test",
): Promise<CertificateAuthority> {
  return openCertificateAuthority(store.db, testSealer, baseUrl, testActor);
}

export async function testPerson(store: Store, familyName = "Holder"): Promise<string> {
  const person = await createPerson(store.db, testActor, { givenName: "Card", familyName });
  return person.uuid;
}

/** A key pair as a card would hold it, made in software: EC P-256 or RSA 2048. */
export async function softwareCardKeys(kind: "ec" | "rsa" = "ec"): Promise<CryptoKeyPair> {
  const algorithm =
    kind === "ec"
      ? { name: "ECDSA", namedCurve: "P-256" }
      : {
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        };
  return webcrypto.subtle.generateKey(algorithm, false, ["sign", "verify"]) as Promise<CryptoKeyPair>;
}

export async function csrFor(keys: CryptoKeyPair): Promise<string> {
  const rsa = keys.privateKey.algorithm.name === "RSASSA-PKCS1-v1_5";
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: "CN=card",
    keys: keys as never,
    signingAlgorithm: rsa ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" },
  });
  return csr.toString("pem");
}

/** Signs a challenge as the agent does: SHA-256, raw r||s for EC, base64url. */
export async function signChallenge(keys: CryptoKeyPair, challenge: string): Promise<string> {
  const rsa = keys.privateKey.algorithm.name === "RSASSA-PKCS1-v1_5";
  const signature = await webcrypto.subtle.sign(
    rsa ? { name: "RSASSA-PKCS1-v1_5" } : { name: "ECDSA", hash: "SHA-256" },
    keys.privateKey,
    new TextEncoder().encode(challenge),
  );
  return Buffer.from(signature).toString("base64url");
}

/** The CA published over HTTP on a free port, as the service publishes it. */
export async function servePki(
  t: TestContext,
  store: Store,
  authority: CertificateAuthority,
): Promise<string> {
  const app = Fastify();
  await registerPki(app, store.db, authority);
  await app.listen({ port: 0, host: "127.0.0.1" });
  t.after(() => app.close());
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
}

/** A temporary folder of PEM files for openssl. */
export function pemFolder(t: TestContext) {
  const folder = mkdtempSync(join(tmpdir(), "careid-pki-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  return {
    write(name: string, der: ArrayBuffer | Uint8Array, label = "CERTIFICATE"): string {
      const path = join(folder, name);
      writeFileSync(path, toPem(der, label));
      return path;
    },
    writeRaw(name: string, data: Uint8Array | string): string {
      const path = join(folder, name);
      writeFileSync(path, data);
      return path;
    },
  };
}

/** Runs openssl without blocking the event loop, so it may call a server in this process. */
export function openssl(args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("openssl", args, { timeout: 30_000 });
    let output = "";
    child.stdout.on("data", (chunk) => {
      output += chunk;
    });
    child.stderr.on("data", (chunk) => {
      output += chunk;
    });
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, output }));
  });
}

export const cardLifetimeDays = 1095;

/** A card issued as the agent would issue it, with software keys standing in for the card's. */
export async function issuedTestCard(
  store: Store,
  authority: CertificateAuthority,
  holder: string,
  options: { cardSerial?: string; kind?: "ec" | "rsa"; now?: Date; lifetimeDays?: number } = {},
) {
  const cardSerial = options.cardSerial ?? `CARD${Math.floor(Math.random() * 1e9)}`;
  const order = await createCardOrder(store.db, testActor, { kind: "issue", holder });
  const keys = {
    authentication: await softwareCardKeys(options.kind),
    signing: await softwareCardKeys(options.kind),
  };
  const issued = await issueCard(
    store.db,
    { authority, sealer: testSealer, lifetimeDays: options.lifetimeDays ?? cardLifetimeDays },
    {
      orderCode: order.code,
      cardSerial,
      authenticationCsr: await csrFor(keys.authentication),
      signingCsr: await csrFor(keys.signing),
    },
    options.now,
  );
  return { cardSerial, keys, issued };
}

/** A fresh challenge signed by the card's authentication key, ready for verification. */
export async function cardProof(
  store: Store,
  card: { keys: { authentication: CryptoKeyPair }; issued: { certificates: { authentication: string } } },
) {
  const { challenge } = await issueSmartcardChallenge(store.db);
  return {
    certificateChain: [card.issued.certificates.authentication],
    challenge,
    signature: await signChallenge(card.keys.authentication, challenge),
  };
}
