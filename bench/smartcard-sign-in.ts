/**
 * Smartcard sign-ins per second: the CIS2 journey with the card's signing done by a software
 * token. Each card is a SoftHSM2 token issued to a demo person through `careid agent` (a real
 * process per card, its passcode entered); each sign-in is authorize, the smartcard page (a
 * fresh challenge), the agent signing it on the token (RSA-2048), the service's verification
 * (signature, chain, validity, revocation, card status, holder), role selection, then the code
 * exchanged with `private_key_jwt` by `openid-client` and `amr` checked; several at once, against
 * `careid serve` on a fresh PostgreSQL database.
 *
 *   BENCH_ADMIN_URL=postgres://postgres:postgres@127.0.0.1:5432/postgres npm run bench:smartcard-sign-in -- \
 *     [--sign-ins 600] [--warmup 60] [--users 8] [--cards 4]
 */
import { parseArgs } from "node:util";
import { operatorActor } from "../src/audit/actor.ts";
import { createCardOrder } from "../src/authenticators/smartcard/orders.ts";
import { singlePositionPeople } from "../test/authenticators/enrolment.ts";
import { postAgentForm, type RunningAgent, startAgent } from "../test/support/agent.ts";
import { Browser } from "../test/support/browser.ts";
import { type BlankCard, softHsmCard } from "../test/support/tokens.ts";
import {
  backendPids,
  benchAdminUrl,
  benchAuthorization,
  benchRelyingParty,
  cpuSeconds,
  prepareService,
  reportSignIns,
  runSignIns,
  startProcess,
  stopProcess,
} from "./cis2-support.ts";

const { values } = parseArgs({
  options: {
    "sign-ins": { type: "string", default: "600" },
    warmup: { type: "string", default: "60" },
    users: { type: "string", default: "8" },
    cards: { type: "string", default: "4" },
    port: { type: "string", default: "3925" },
  },
});
const adminUrl = benchAdminUrl();

const { databaseUrl, issuer, environment, store, cis2, key } = await prepareService({
  adminUrl,
  database: "careid_bench_smartcard_sign_in",
  port: values.port,
  poolSize: 2,
});
const origin = `http://127.0.0.1:${values.port}`;
const holders = await singlePositionPeople(store.db, Number(values.cards));
const orders = await Promise.all(
  holders.map((holder) => createCardOrder(store.db, operatorActor(), { kind: "issue", holder })),
);
cis2.stop();
await store.close();

const server = await startProcess(
  ["src/main.ts", "serve"],
  environment,
  `${issuer}/.well-known/openid-configuration`,
);
const cleanups: Array<() => Promise<void>> = [];
const blankCards: BlankCard[] = [];
const agents: RunningAgent[] = [];
const passcode = "2468";
for (const order of orders) {
  const card = softHsmCard();
  blankCards.push(card);
  const agent = await startAgent(
    { after: (cleanup) => cleanups.push(cleanup) },
    { serviceUrl: origin, card },
  );
  await agent.waitFor("card-inserted", 0);
  const issued = await (
    await postAgentForm(agent.url, "/issue", { orderCode: order.code, passcode, confirmation: passcode })
  ).text();
  if (!issued.includes("This smartcard is issued")) throw new Error(`the card was not issued:\n${issued}`);
  await postAgentForm(agent.url, "/passcode", { passcode });
  agents.push(agent);
}
console.log(`${agents.length} SoftHSM2 cards issued through the agent to demo people with one position`);

const configuration = await benchRelyingParty(issuer, key);

/** One sign-in as the page and its module make it, checked: an ID token for the card's holder. */
async function oneSignIn(index: number): Promise<void> {
  const agent = agents[index % agents.length] as RunningAgent;
  const browser = new Browser();
  const { url, exchange } = await benchAuthorization(configuration, "AAL3_CIS2_SMARTCARD");
  const { url: identify } = await browser.follow(await browser.get(url.href), url.href, origin);
  const page = `${identify}/smartcard`;
  const html = await (await browser.get(page)).text();
  const challenge = /data-smartcard-challenge="([^"]+)"/.exec(html)?.[1];
  const signed = await fetch(`${agent.url}/api/sign`, {
    method: "POST",
    headers: { origin, "content-type": "application/json" },
    body: JSON.stringify({ challenge }),
  });
  if (!signed.ok) throw new Error(`the agent did not sign: ${signed.status}`);
  const { certificate, signature } = (await signed.json()) as { certificate: string; signature: string };
  const { url: callback } = await browser.follow(
    await browser.post(page, { certificate, signature }),
    page,
    origin,
  );
  const tokens = await exchange(callback);
  const claims = tokens.claims();
  if (JSON.stringify(claims?.amr) !== '["CIS2_SMARTCARD"]' || !claims?.selected_roleid)
    throw new Error(`unexpected claims ${JSON.stringify(claims)}`);
}

const run = (count: number, users: number) => runSignIns(count, users, oneSignIn);
const users = Number(values.users);

console.log(reportSignIns("warm-up", await run(Number(values.warmup), users)));
console.log(reportSignIns("one user at a time", await run(Math.min(100, Number(values["sign-ins"])), 1)));
const count = Number(values["sign-ins"]);
const agentPids = agents.map((agent) => Number(agent.pid));
const pids = { server: [server.pid as number], postgres: await backendPids(databaseUrl), agents: agentPids };
const before = {
  server: cpuSeconds(pids.server),
  postgres: cpuSeconds(pids.postgres),
  agents: cpuSeconds(pids.agents),
  me: process.cpuUsage(),
};
console.log(reportSignIns(`${users} users at once`, await run(count, users)));
const generator = process.cpuUsage(before.me);
const perSignIn = (seconds: number) => `${((seconds * 1000) / count).toFixed(1)} ms`;
console.log(
  `CPU per sign-in: service ${perSignIn(cpuSeconds(pids.server) - before.server)} + PostgreSQL ${perSignIn(cpuSeconds(pids.postgres) - before.postgres)}; agents and tokens ${perSignIn(cpuSeconds(pids.agents) - before.agents)}; browser and relying party ${perSignIn((generator.user + generator.system) / 1e6)}`,
);
for (const cleanup of cleanups) await cleanup();
for (const card of blankCards) card.remove();
await stopProcess(server);
