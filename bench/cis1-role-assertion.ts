/**
 * CIS1 role assertions per second on one node: `careid serve` on a fresh PostgreSQL database
 * answers `GET /saml/RoleAssertion?token=` for many live SSO tokens (demo people, each with a card
 * and a CIS1 session; a role chosen where they hold several positions), several requests at once
 * over keep-alive connections. Every answer must be a 200 `samlp:Success`. A sample is then
 * validated against the OASIS SAML 1.1 schemas with xmllint (and, with --signed, its signature
 * verified with xmlsec1 against the root CA).
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:cis1-role-assertion -- \
 *     [--requests 20000] [--concurrency 16] [--sessions 100] [--signed]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { operatorActor } from "../src/audit/actor.ts";
import { issueCard } from "../src/authenticators/smartcard/cards.ts";
import { createCardOrder } from "../src/authenticators/smartcard/orders.ts";
import { chooseSessionRole, startCardSession } from "../src/cis1/sessions.ts";
import { loadConfig } from "../src/config.ts";
import { openCertificateAuthority } from "../src/pki/certificate-authority.ts";
import { toPem } from "../src/pki/engine.ts";
import { sealerFromConfig } from "../src/secrets/master-key.ts";
import { cardProof, csrFor, softwareCardKeys } from "../test/support/pki.ts";
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
    sessions: { type: "string", default: "100" },
    signed: { type: "boolean", default: false },
    port: { type: "string", default: "3925" },
  },
});
const adminUrl = benchAdminUrl();

const lifetimes = { idleMinutes: 720, sessionHours: 24 };
const { databaseUrl, environment, store, lists, cis2 } = await prepareService({
  adminUrl,
  database: "careid_bench_cis1",
  port: values.port,
  poolSize: 4,
  extraEnvironment: {
    CAREID_CIS1_SIGN_ASSERTIONS: String(values.signed),
    CAREID_CIS1_IDLE_MINUTES: String(lifetimes.idleMinutes),
    CAREID_CIS1_SESSION_HOURS: String(lifetimes.sessionHours),
  },
});
cis2.stop();
const origin = `http://127.0.0.1:${values.port}`;
const sealer = sealerFromConfig(loadConfig(environment));
const authority = await openCertificateAuthority(store.db, sealer, origin, operatorActor());
const people = await store.db
  .selectFrom("people")
  .select("uuid")
  .where("status", "=", "active")
  .orderBy("uuid")
  .execute();

// One card and one CIS1 session per person, as after each one's sign-in at their workstation.
const tokens: string[] = [];
const sessionCount = Math.min(Number(values.sessions), people.length);
for (let index = 0; index < sessionCount; index++) {
  const holder = people[index]?.uuid ?? "";
  const order = await createCardOrder(store.db, operatorActor(), { kind: "issue", holder });
  const cardSerial = `BENCH${String(index).padStart(5, "0")}`;
  const keys = { authentication: await softwareCardKeys() };
  const issued = await issueCard(
    store.db,
    { authority, sealer, lifetimeDays: 1095 },
    {
      orderCode: order.code,
      cardSerial,
      authenticationCsr: await csrFor(keys.authentication),
      signingCsr: await csrFor(await softwareCardKeys()),
    },
  );
  const actor = { kind: "system" as const, id: `smartcard-agent:${cardSerial}`, source: "AGENT" };
  const started = await startCardSession(
    store.db,
    actor,
    lists,
    { cardSerial, proof: await cardProof(store, { keys, issued }) },
    lifetimes,
  );
  if (started.roleRequired)
    await chooseSessionRole(
      store.db,
      actor,
      lists,
      { token: started.token, roleProfileId: started.roles[0]?.roleProfileId },
      lifetimes,
    );
  tokens.push(started.token);
}
await store.close();
console.log(`${tokens.length} CIS1 sessions started; assertions ${values.signed ? "signed" : "unsigned"}`);

const server = await startProcess(["src/main.ts", "serve"], environment, `${origin}/health/ready`);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(values.concurrency) });
const fetchAssertion = (token: string) =>
  new Promise<string>((resolve, reject) => {
    const request = http.request(
      {
        agent,
        host: "127.0.0.1",
        port: values.port,
        path: `/saml/RoleAssertion?token=${encodeURIComponent(token)}`,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () =>
          response.statusCode === 200
            ? resolve(Buffer.concat(chunks).toString("utf8"))
            : reject(new Error(`${response.statusCode}`)),
        );
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.end();
  });

async function run(count: number) {
  const latencies: number[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: Number(values.concurrency) }, async () => {
      while (next < count) {
        const token = tokens[next++ % tokens.length] as string;
        const sent = performance.now();
        const answer = await fetchAssertion(token).catch(() => "");
        latencies.push(performance.now() - sent);
        if (!answer.includes('Value="samlp:Success"')) failed++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { count, failed, seconds, perSecond: (count - failed) / seconds, latencies };
}

const folder = mkdtempSync(join(tmpdir(), "careid-bench-cis1-"));
try {
  await run(Number(values.warmup));
  const pids = [server.pid ?? 0, ...(await backendPids(databaseUrl))];
  const cpuBefore = cpuSeconds(pids);
  const result = await run(Number(values.requests));
  const cpu = cpuSeconds(pids) - cpuBefore;
  console.log(
    [
      `${result.count} role assertions, ${values.concurrency} at once: ${result.perSecond.toFixed(0)}/s`,
      `p50 ${percentile(result.latencies, 0.5).toFixed(1)} ms, p99 ${percentile(result.latencies, 0.99).toFixed(1)} ms, max ${Math.max(...result.latencies).toFixed(1)} ms`,
      `failed ${result.failed}; service + PostgreSQL CPU ${((cpu / result.count) * 1000).toFixed(2)} ms per assertion`,
    ].join("\n"),
  );
  const sample = join(folder, "sample.xml");
  writeFileSync(sample, await fetchAssertion(tokens[0] as string));
  const schema = new URL("../src/cis1/schemas/oasis-sstc-saml-schema-protocol-1.1.xsd", import.meta.url)
    .pathname;
  execFileSync("xmllint", ["--noout", "--nonet", "--schema", schema, sample], { stdio: "ignore" });
  console.log("xmllint validated a sample against the OASIS SAML 1.1 schemas");
  if (values.signed) {
    const rootFile = join(folder, "root.pem");
    writeFileSync(rootFile, toPem(authority.root.rawData));
    execFileSync(
      "xmlsec1",
      ["--verify", "--trusted-pem", rootFile, "--id-attr:AssertionID"].concat([
        "urn:oasis:names:tc:SAML:1.0:assertion:Assertion",
        sample,
      ]),
      { stdio: "ignore" },
    );
    console.log("xmlsec1 verified its signature against the root CA");
  }
  if (result.failed > 0) process.exitCode = 1;
} finally {
  agent.destroy();
  await stopProcess(server);
  rmSync(folder, { recursive: true, force: true });
}
