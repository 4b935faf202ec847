/**
 * Prescription signature verifications per second: the verifier's nine checks
 * (src/signing/verifier.ts) over signed sample prescriptions (repeat and acute), in this process,
 * several at once, with revocation asked of our CA's OCSP responder over HTTP for every
 * verification (the CA served by Fastify on a fresh PostgreSQL database, as `careid serve` serves
 * it). A second run keeps each OCSP answer for a minute, as a dispensing system may, to show the
 * cost of the checks themselves. Every verification must pass.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:prescription-verify -- \
 *     [--verifications 5000] [--warmup 500] [--concurrency 8] [--signers 20]
 */
import { createSign, generateKeyPairSync } from "node:crypto";
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { operatorActor } from "../src/audit/actor.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { createPerson } from "../src/people/people.ts";
import { openCertificateAuthority } from "../src/pki/certificate-authority.ts";
import { type CertificateStatus, onlineCertificateStatus } from "../src/pki/certificate-status.ts";
import { x509 } from "../src/pki/engine.ts";
import { issueCardCertificate } from "../src/pki/issue.ts";
import { registerPki } from "../src/pki/routes.ts";
import { sealerFor } from "../src/secrets/sealed.ts";
import { prepareSignature, signedPrescription } from "../src/signing/signature.ts";
import { type VerifierTrust, verifyPrescription } from "../src/signing/verifier.ts";
import { inTransaction, openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { freePort } from "../test/support/cis2-server.ts";
import { prescriptionAt, samplePrescriptions } from "../test/support/prescriptions.ts";
import { benchAdminUrl, benchMasterKey, freshDatabase, percentile } from "./cis2-support.ts";
import { lettered } from "./letter-names.ts";

const { values } = parseArgs({
  options: {
    verifications: { type: "string", default: "5000" },
    warmup: { type: "string", default: "500" },
    concurrency: { type: "string", default: "8" },
    signers: { type: "string", default: "20" },
  },
});
const adminUrl = benchAdminUrl();

const masterKey = Buffer.from(benchMasterKey, "hex");
const store = withAuditKey(
  await openStore({ databaseUrl: await freshDatabase(adminUrl, "careid_bench_verify"), poolSize: 4 }),
  masterKey,
);
await migrate(store);
const app = Fastify();
const sealer = sealerFor(masterKey);
// The CA names its publication address in what it issues: choose the port first.
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const authority = await openCertificateAuthority(store.db, sealer, base, operatorActor());
await registerPki(app, store.db, authority);
await app.listen({ port, host: "127.0.0.1" });

// Signers with RSA keys, as cards and the remote service hold them; each signs both samples.
// Their names are letters only, as people's names must be.
const signed: string[] = [];
for (let index = 0; index < Number(values.signers); index++) {
  const person = await createPerson(store.db, operatorActor(), {
    givenName: "Bench",
    familyName: `Signer ${lettered(index)}`,
  });
  const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const certificate = await inTransaction(store.db, (tx) =>
    issueCardCertificate(tx, authority, {
      profile: "card-signing",
      holder: person.uuid,
      cardSerial: `BENCHSIGN${index}`,
      publicKey: new x509.PublicKey(new Uint8Array(keys.publicKey.export({ type: "spki", format: "der" }))),
      lifetimeDays: 1095,
    }),
  );
  for (const sample of [samplePrescriptions.repeat, samplePrescriptions.acute]) {
    const prescription = prescriptionAt(sample);
    const { signedInfo } = prepareSignature(prescription);
    const value = createSign("sha256").update(signedInfo).sign(keys.privateKey);
    signed.push(signedPrescription(prescription, signedInfo, value, new Uint8Array(certificate.rawData)));
  }
}

const online = onlineCertificateStatus();
const cached = new Map<string, { answer: CertificateStatus; at: number }>();
const trusts: Record<string, VerifierTrust> = {
  "OCSP asked every time": {
    roots: [authority.root],
    issuers: [authority.issuing],
    certificateStatus: online,
  },
  "OCSP answers kept 60 s": {
    roots: [authority.root],
    issuers: [authority.issuing],
    certificateStatus: async (certificate, issuer) => {
      const kept = cached.get(certificate.serialNumber);
      if (kept && Date.now() - kept.at < 60_000) return kept.answer;
      const answer = await online(certificate, issuer);
      cached.set(certificate.serialNumber, { answer, at: Date.now() });
      return answer;
    },
  },
};

async function run(trust: VerifierTrust, count: number) {
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      while (next < count) {
        const xml = signed[next++ % signed.length] as string;
        const begun = performance.now();
        const verdict = await verifyPrescription(xml, trust);
        times.push(performance.now() - begun);
        if (!verdict.valid) throw new Error(JSON.stringify(verdict.checks.filter((check) => !check.passed)));
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, times };
}

const lines = [
  `Prescription verifications, ${values.concurrency} at once, ${signed.length} signed prescriptions:`,
];
for (const [name, trust] of Object.entries(trusts)) {
  await run(trust, Number(values.warmup));
  const cpuBefore = process.cpuUsage();
  const result = await run(trust, Number(values.verifications));
  const cpu = process.cpuUsage(cpuBefore);
  lines.push(
    `  ${name}: ${result.times.length} in ${result.seconds.toFixed(1)} s, ${(result.times.length / result.seconds).toFixed(0)} verifications/s; p50 ${percentile(result.times, 0.5).toFixed(2)} ms, p99 ${percentile(result.times, 0.99).toFixed(2)} ms; ${((cpu.user + cpu.system) / 1000 / result.times.length).toFixed(2)} ms CPU each (this process, verifier and OCSP responder)`,
  );
}
console.log(lines.join("\n"));
await app.close();
await store.close();
