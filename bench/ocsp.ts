/**
 * OCSP responses per second: `careid serve` on a fresh PostgreSQL database answers RFC 6960
 * POST requests for card certificates (some revoked), as relying parties and the mutual-TLS
 * listener would ask. Requests are made by `openssl ocsp -reqout` (each with its own nonce)
 * and sent over keep-alive connections, several at once; every answer must be a successful,
 * signed OCSP response. A sample is then checked by openssl against the root CA.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:ocsp -- \
 *     [--requests 20000] [--concurrency 16] [--cards 100]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { operatorActor } from "../src/audit/actor.ts";
import { issueCard, withdrawCard } from "../src/authenticators/smartcard/cards.ts";
import { createCardOrder } from "../src/authenticators/smartcard/orders.ts";
import { loadConfig } from "../src/config.ts";
import { openCertificateAuthority } from "../src/pki/certificate-authority.ts";
import { toPem } from "../src/pki/engine.ts";
import { sealerFromConfig } from "../src/secrets/master-key.ts";
import { csrFor, softwareCardKeys } from "../test/support/pki.ts";
import {
  backendPids,
  benchAdminUrl,
  cpuSeconds,
  percentile,
  prepareService,
  startProcess,
  stopProcess,
} from "./cis2-support.ts";

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "20000" },
    warmup: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "16" },
    cards: { type: "string", default: "100" },
    port: { type: "string", default: "3924" },
  },
});
const adminUrl = benchAdminUrl();

const { databaseUrl, environment, store, cis2 } = await prepareService({
  adminUrl,
  database: "careid_bench_ocsp",
  port: values.port,
  poolSize: 4,
});
cis2.stop();
const origin = `http://127.0.0.1:${values.port}`;
const sealer = sealerFromConfig(loadConfig(environment));
const authority = await openCertificateAuthority(store.db, sealer, origin, operatorActor());
const people = await store.db.selectFrom("people").select("uuid").where("status", "=", "active").execute();
const folder = mkdtempSync(join(tmpdir(), "careid-bench-ocsp-"));
const issuerFile = join(folder, "issuing.pem");
const rootFile = join(folder, "root.pem");
writeFileSync(issuerFile, toPem(authority.issuing.rawData));
writeFileSync(rootFile, toPem(authority.root.rawData));

// Cards for the demo people; every fifth one cancelled, so a fifth of the answers say revoked.
const certificateFiles: string[] = [];
const cardCount = Number(values.cards);
for (let index = 0; index < cardCount; index++) {
  const holder = people[index % people.length]?.uuid ?? "";
  const order = await createCardOrder(store.db, operatorActor(), { kind: "issue", holder });
  const cardSerial = `BENCH${String(index).padStart(5, "0")}`;
  const issued = await issueCard(
    store.db,
    { authority, sealer, lifetimeDays: 1095 },
    {
      orderCode: order.code,
      cardSerial,
      authenticationCsr: await csrFor(await softwareCardKeys()),
      signingCsr: await csrFor(await softwareCardKeys()),
    },
  );
  if (index % 5 === 0)
    await withdrawCard(store.db, operatorActor(), { cardSerial, status: "cancelled", reason: "benchmark" });
  const file = join(folder, `${cardSerial}.pem`);
  writeFileSync(file, issued.certificates.authentication);
  certificateFiles.push(file);
}
await store.close();
const requests = certificateFiles.map((file) => {
  execFileSync("openssl", ["ocsp", "-issuer", issuerFile, "-cert", file, "-reqout", `${file}.req`]);
  return readFileSync(`${file}.req`);
});
console.log(
  `${cardCount} cards issued (${Math.ceil(cardCount / 5)} cancelled); ${requests.length} OCSP requests made`,
);

const server = await startProcess(["src/main.ts", "serve"], environment, `${origin}/health/ready`);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(values.concurrency) });
const send = (body: Buffer) =>
  new Promise<Buffer>((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: "127.0.0.1",
        port: values.port,
        path: "/pki/ocsp",
        method: "POST",
        headers: { "content-type": "application/ocsp-request", "content-length": body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          response.statusCode === 200
            ? resolve(Buffer.concat(chunks))
            : reject(new Error(`${response.statusCode}`)),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end(body);
  });
/** OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED (0 = successful), responseBytes ... } */
const successful = (answer: Buffer) => answer.subarray(0, 8).includes(Buffer.from([0x0a, 0x01, 0x00]));

async function run(count: number) {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      while (next < count) {
        const body = requests[next++ % requests.length] as Buffer;
        const sent = performance.now();
        const answer = await send(body).catch(() => Buffer.alloc(0));
        latencies.push(performance.now() - sent);
        if (!successful(answer)) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { count, failed, seconds, perSecond: (count - failed) / seconds, latencies };
}

try {
  await run(Number(values.warmup));
  const pids = [server.pid ?? 0, ...(await backendPids(databaseUrl))];
  const cpuBefore = cpuSeconds(pids);
  const result = await run(Number(values.requests));
  const cpu = cpuSeconds(pids) - cpuBefore;
  console.log(
    [
      `${result.count} OCSP requests, ${values.concurrency} at once: ${result.perSecond.toFixed(0)}/s`,
      `p50 ${percentile(result.latencies, 0.5).toFixed(1)} ms, p99 ${percentile(result.latencies, 0.99).toFixed(1)} ms, max ${Math.max(...result.latencies).toFixed(1)} ms`,
      `failed ${result.failed}; service + PostgreSQL CPU ${((cpu / result.count) * 1000).toFixed(2)} ms per response`,
    ].join("\n"),
  );
  for (const [index, expected] of [
    [0, "revoked"],
    [1, "good"],
  ] as const) {
    const responseFile = join(folder, `answer-${index}.der`);
    writeFileSync(responseFile, await send(requests[index] as Buffer));
    const checked = execFileSync(
      "openssl",
      [
        "ocsp",
        "-no_nonce",
        "-respin",
        responseFile,
        "-issuer",
        issuerFile,
        "-cert",
        certificateFiles[index] ?? "",
        "-CAfile",
        rootFile,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    ).toString();
    if (!checked.includes(`: ${expected}`)) throw new Error(`openssl did not read ${expected}: ${checked}`);
  }
  console.log("openssl verified a good and a revoked answer against the root CA");
  if (result.failed > 0) process.exitCode = 1;
} finally {
  agent.destroy();
  await stopProcess(server);
  rmSync(folder, { recursive: true, force: true });
}
