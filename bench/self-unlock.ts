/**
 * Self-service smartcard unlocks handled by one node: the whole service side of an unlock
 * (start: checks, per-card and per-person limits, code queued in the outbox; the code checked;
 * the unlock code released; the unlock completed), each step audited, as the pages and the
 * agent call it. Cards are issued and locked first (not timed). `--concurrency` holders unlock
 * at once, as many browsers would; the figure is unlocks per minute, against an RA's 20 minutes
 * each. Message delivery is not timed: the worker sends afterwards, off the journey.
 *
 *   DATABASE_URL=postgres://postgres:postgres@127.0.0.1:5432/careid_bench CAREID_MASTER_KEY=<64 hex> \
 *     npm run bench:self-unlock -- \
 *     [--unlocks 500] [--concurrency 8]
 */
import { webcrypto } from "node:crypto";
import { parseArgs } from "node:util";
import { operatorActor, systemActor } from "../src/audit/actor.ts";
import { withAuditKey } from "../src/audit/chain-key.ts";
import { issueCard, reportCardLocked } from "../src/authenticators/smartcard/cards.ts";
import { createCardOrder } from "../src/authenticators/smartcard/orders.ts";
import {
  checkSelfUnlockCode,
  completeSelfUnlock,
  releaseSelfUnlockCode,
  startSelfUnlock,
} from "../src/authenticators/smartcard/self-unlock.ts";
import { loadConfig } from "../src/config.ts";
import type { SealedContent } from "../src/messaging/outbox.ts";
import { createPerson } from "../src/people/people.ts";
import { openCertificateAuthority } from "../src/pki/certificate-authority.ts";
import { x509 } from "../src/pki/engine.ts";
import { loadMasterKey } from "../src/secrets/master-key.ts";
import { sealerFor } from "../src/secrets/sealed.ts";
import { openStore } from "../src/store/database.ts";
import { migrate } from "../src/store/migrate.ts";
import { lettered } from "./letter-names.ts";
import { summarise } from "./summarise.ts";

const { values } = parseArgs({
  options: { unlocks: { type: "string", default: "500" }, concurrency: { type: "string", default: "8" } },
});
const unlocks = Number(values.unlocks);
const concurrency = Number(values.concurrency);
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) throw new Error("Set DATABASE_URL to the PostgreSQL database to measure");

const config = loadConfig();
const masterKey = loadMasterKey(config);
const sealer = sealerFor(masterKey);
const store = withAuditKey(await openStore({ databaseUrl, poolSize: concurrency + 2 }), masterKey);
await migrate(store);
const operator = operatorActor();
const authority = await openCertificateAuthority(store.db, sealer, config.pkiUrl, systemActor("pki"));
const settings = { sealer, emailDomains: ["nhs.net"], smsAvailable: true };
const page = { kind: "system" as const, id: "self-service-unlock", source: "SELF_SERVICE" };
const agent = { kind: "system" as const, id: "self-service-unlock", source: "AGENT" };

/** One key pair serves every bench card's CSRs: key generation is the card's work, not the service's. */
const keys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
  "sign",
  "verify",
]);
const otherKeys = await webcrypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, [
  "sign",
  "verify",
]);
const csr = async (pair: webcrypto.CryptoKeyPair) =>
  (
    await x509.Pkcs10CertificateRequestGenerator.create({
      name: "CN=card",
      keys: pair,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-256" },
    })
  ).toString("pem");

console.log(`issuing and locking ${unlocks} cards ...`);
const run = Date.now().toString(36);
const cards: string[] = [];
for (let index = 0; index < unlocks; index++) {
  const person = await createPerson(store.db, operator, {
    givenName: `Unlock ${lettered(index)}`,
    familyName: "Benchmark",
    email: `unlock.${run}.${index}@nhs.net`,
  });
  const order = await createCardOrder(store.db, operator, { kind: "issue", holder: person.uuid });
  const cardSerial = `B${run}${index}`.slice(0, 32);
  await issueCard(
    store.db,
    { authority, sealer, lifetimeDays: 365 },
    {
      orderCode: order.code,
      cardSerial,
      authenticationCsr: await csr(keys),
      signingCsr: await csr(otherKeys),
    },
  );
  await reportCardLocked(store.db, agent, cardSerial);
  cards.push(cardSerial);
}

async function unlock(cardSerial: string): Promise<number> {
  const began = performance.now();
  const started = await startSelfUnlock(store.db, settings, page, { cardSerial });
  // The holder reads the code from their email: here, from the outbox row.
  const row = await store.db
    .selectFrom("message_outbox")
    .select("sealed_content")
    .where("id", "=", started.messageId)
    .executeTakeFirstOrThrow();
  const { personalisation } = JSON.parse(sealer.open(row.sealed_content)) as SealedContent;
  const { ticket } = await checkSelfUnlockCode(store.db, page, {
    token: started.token,
    code: personalisation.code,
  });
  await releaseSelfUnlockCode(store.db, sealer, agent, { ticket, cardSerial });
  await completeSelfUnlock(store.db, agent, { ticket, cardSerial });
  return performance.now() - began;
}

console.log(`unlocking with ${concurrency} at once ...`);
const timings: number[] = [];
const queue = [...cards];
const began = performance.now();
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let card = queue.shift(); card; card = queue.shift()) timings.push(await unlock(card));
  }),
);
const seconds = (performance.now() - began) / 1000;
console.log(`self-service unlock, one node, concurrency ${concurrency}: ${summarise(timings)}`);
console.log(
  `${((unlocks / seconds) * 60).toFixed(0)} unlocks per minute (an RA: 3 per hour per RA, at 20 minutes each)`,
);
await store.close();
