/**
 * Remote signatures per second on one node: `careid serve` on a fresh PostgreSQL database signs
 * batches of 250 prescriptions for people without a card, whole, as the Digital Signature Service
 * is used: the prescribing application's RS512 JWT to POST /signaturerequest, the prescriber's
 * presence check with a security key (a software authenticator with trusted attestation,
 * enrolled through a real enrolment link) on the redirect page, and GET /signatureresponse.
 * Each person's first batch also makes their signing key and certificate; those are made in the
 * warm-up. A sample of the signatures is checked against the certificate before figures print.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:remote-signing -- \
 *     [--people 16] [--batches 40] [--warmup 16] [--concurrency 4] [--items 250]
 */
import { createVerify, KeyObject } from "node:crypto";
import http from "node:http";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { operatorActor } from "../src/audit/actor.ts";
import { issueEnrolmentLink } from "../src/authenticators/enrolment/links.ts";
import { addClient } from "../src/cis2/clients.ts";
import { clientValidator } from "../src/cis2/start.ts";
import { x509 } from "../src/pki/engine.ts";
import { seedSynthetic } from "../src/seed/synthetic.ts";
import { prepareSignature } from "../src/signing/signature.ts";
import { attestationBatch, writeFiles } from "../test/support/attestation-ca.ts";
import { editPrescription, prescriptionAt, samplePrescriptions } from "../test/support/prescriptions.ts";
import {
  backendPids,
  benchAdminUrl,
  benchRedirectUri,
  cpuSeconds,
  percentile,
  prepareService,
  startProcess,
  stopProcess,
} from "./cis2-support.ts";
import { formAction, HttpBrowser, unescapeHtml } from "./http-browser.ts";
import { SoftwareAuthenticator } from "./software-authenticator.ts";

const { values } = parseArgs({
  options: {
    people: { type: "string", default: "16" },
    batches: { type: "string", default: "40" },
    warmup: { type: "string", default: "16" },
    concurrency: { type: "string", default: "4" },
    items: { type: "string", default: "250" },
    port: { type: "string", default: "3924" },
  },
});
const adminUrl = benchAdminUrl();
const peopleCount = Number(values.people);
const concurrency = Number(values.concurrency);
const items = Number(values.items);
if (peopleCount < concurrency)
  throw new Error("give every concurrent batch a person of its own: --people ≥ --concurrency");

const attestationCa = await attestationBatch();
const attestation = {
  x5c: attestationCa.batch.chain.slice(0, -1).map((certificate) => Buffer.from(certificate.rawData)),
  privateKey: KeyObject.from(attestationCa.batch.keys.privateKey),
};
const { databaseUrl, issuer, environment, store, cis2 } = await prepareService({
  adminUrl,
  database: "careid_bench_signing",
  port: values.port,
  poolSize: 4,
  extraEnvironment: {
    CAREID_WEBAUTHN_ATTESTATION_ROOTS: writeFiles({
      "attestation-root.pem": attestationCa.root.certificate.toString("pem"),
    })["attestation-root.pem"] as string,
  },
});
const clientId = "777777777777.apps.supplier";
const clientKeys = await generateKeyPair("RS512", { extractable: true });
await addClient(
  store.db,
  operatorActor(),
  cis2.sealer,
  {
    client_id: clientId,
    client_name: "Benchmark prescribing application",
    redirect_uris: [benchRedirectUri],
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [{ ...(await exportJWK(clientKeys.publicKey)), kid: "rx", alg: "RS512", use: "sig" }] },
  },
  clientValidator(cis2.host),
);
await seedSynthetic(store, operatorActor(), { people: peopleCount, positionsPerPerson: 1 });
const people = (
  await store.db
    .selectFrom("people")
    .select("uuid")
    .where("ni_number", "like", "S%")
    .where("status", "=", "active")
    .orderBy("uuid")
    .execute()
)
  .slice(0, peopleCount)
  .map((row) => row.uuid);

const origin = `http://127.0.0.1:${values.port}`;
const server = await startProcess(
  ["src/main.ts", "serve"],
  environment,
  `${issuer}/.well-known/openid-configuration`,
);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 4 });

const authenticators = new Map<string, SoftwareAuthenticator>();
for (const uuid of people) {
  const { token } = await issueEnrolmentLink(store.db, operatorActor(), { uuid });
  const browser = new HttpBrowser(origin, agent);
  const page = await browser.open(`${origin}/authenticators/enrol/${token}/security-key`);
  const options = JSON.parse(unescapeHtml(/data-webauthn-options="([^"]+)"/.exec(page.body)?.[1] ?? ""));
  const authenticator = new SoftwareAuthenticator(origin, attestation);
  const registered = await browser.submit(formAction(page), {
    response: JSON.stringify(authenticator.create(options)),
  });
  if (!registered.body.includes("Your security key is registered"))
    throw new Error(`enrolment refused for ${uuid}: ${registered.status}`);
  authenticators.set(uuid, authenticator);
}
cis2.stop();
await store.close();

// One batch's payloads, prepared once: each a distinct prescription's canonical SignedInfo.
const prepared = Array.from({ length: items }, (_, index) =>
  prepareSignature(
    editPrescription(
      prescriptionAt(index % 2 === 0 ? samplePrescriptions.repeat : samplePrescriptions.acute),
      "//hl7:pertinentPrescription/hl7:id[1]",
      (id) => id.setAttribute("root", `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`),
    ),
  ),
);
const payloads = prepared.map((one, index) => ({
  id: `rx-${index}`,
  payload: Buffer.from(one.signedInfo).toString("base64"),
}));

type Signed = { signatures: Array<{ id: string; signature: string }>; certificate: string };

/** One batch, whole: request, presence check, collection. */
async function signBatch(holder: string, serial: number): Promise<Signed> {
  const jwt = await new SignJWT({ payloads, jti: `${holder}-${serial}` })
    .setProtectedHeader({ alg: "RS512", kid: "rx" })
    .setIssuer(clientId)
    .setSubject(holder)
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(clientKeys.privateKey);
  const requested = await fetch(`${origin}/signaturerequest`, {
    method: "POST",
    headers: { "content-type": "application/jwt" },
    body: jwt,
  });
  if (requested.status !== 200)
    throw new Error(`request refused: ${requested.status} ${await requested.text()}`);
  const { token, redirectUri } = (await requested.json()) as { token: string; redirectUri: string };
  const browser = new HttpBrowser(origin, agent);
  const page = await browser.open(redirectUri);
  const options = JSON.parse(unescapeHtml(/data-webauthn-options="([^"]+)"/.exec(page.body)?.[1] ?? ""));
  const answer = JSON.stringify((authenticators.get(holder) as SoftwareAuthenticator).get(options));
  const signedPage = await browser.submit(formAction(page), { response: answer });
  if (!signedPage.body.includes(`data-signed-count="${items}"`))
    throw new Error(`presence check refused: ${signedPage.status} ${signedPage.body.slice(0, 300)}`);
  const collected = await fetch(`${origin}/signatureresponse/${token}`);
  if (collected.status !== 200) throw new Error(`collection refused: ${collected.status}`);
  return (await collected.json()) as Signed;
}

async function run(batches: number) {
  const times: number[] = [];
  let next = 0;
  let sample: Signed | undefined;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      const mine = people.filter((_, index) => index % concurrency === lane);
      while (next < batches) {
        const serial = next++;
        const holder = mine[serial % mine.length] as string;
        const begun = performance.now();
        sample = await signBatch(holder, serial);
        times.push(performance.now() - begun);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, times, sample };
}

const pids = [server.pid as number, ...(await backendPids(databaseUrl))];
await run(Number(values.warmup)); // every person's key and certificate are made here
const cpuBefore = cpuSeconds(pids);
const measured = await run(Number(values.batches));
const cpu = cpuSeconds(pids) - cpuBefore;

// The last batch's signatures must verify over the SignedInfo they were asked for.
const certificate = new x509.X509Certificate(Buffer.from(measured.sample?.certificate ?? "", "base64"));
const publicKey = certificate.publicKey.toString("pem");
for (const [index, signed] of (measured.sample?.signatures ?? []).entries())
  if (
    !createVerify("sha256")
      .update(prepared[index]?.signedInfo as string)
      .verify(publicKey, Buffer.from(signed.signature, "base64"))
  )
    throw new Error(`signature ${signed.id} does not verify`);

const signatures = measured.times.length * items;
console.log(
  [
    `Remote signing, batches of ${items}, ${concurrency} at once, ${peopleCount} people, one node:`,
    `  ${measured.times.length} batches (${signatures} signatures) in ${measured.seconds.toFixed(1)} s: ${(signatures / measured.seconds).toFixed(0)} signatures/s, ${(measured.times.length / measured.seconds).toFixed(2)} batches/s`,
    `  batch (request, presence check, collection): p50 ${percentile(measured.times, 0.5).toFixed(0)} ms, p99 ${percentile(measured.times, 0.99).toFixed(0)} ms`,
    `  CPU (service and PostgreSQL backends): ${((cpu / signatures) * 1000).toFixed(2)} ms per signature`,
    `  the last batch's ${measured.sample?.signatures.length ?? 0} signatures verified against ${certificate.subject}`,
  ].join("\n"),
);
await stopProcess(server);
agent.destroy();
