/**
 * One service under the security-key and authenticator-app sign-in benchmark: its own fresh
 * database with synthetic people, each enrolled through the real enrolment pages (a software
 * security key, bench/software-authenticator.ts, or an authenticator app whose secret is read
 * from the page), `careid serve` started on it, and `signIn()`, one whole sign-in as a browser
 * and relying party make it, checked end to end.
 *
 * It imports the service's code by relative paths, so a copy of this folder inside another
 * checkout (an exported earlier commit) prepares and serves that checkout: the benchmark can
 * then measure both side by side in one run.
 */
import { KeyObject } from "node:crypto";
import http from "node:http";
import { fileURLToPath } from "node:url";
import * as client from "openid-client";
import { operatorActor } from "../src/audit/actor.ts";
import { issueEnrolmentLink } from "../src/authenticators/enrolment/links.ts";
import { setPassword } from "../src/authenticators/password/passwords.ts";
import { codeAt, timeStep } from "../src/authenticators/totp/codes.ts";
import { seedSynthetic } from "../src/seed/synthetic.ts";
import { attestationBatch, writeFiles } from "../test/support/attestation-ca.ts";
import {
  benchAuthorization,
  benchRedirectUri,
  benchRelyingParty,
  prepareService,
  startProcess,
  stopProcess,
  workstationAddress,
} from "./cis2-support.ts";
import { formAction, HttpBrowser, type Page, unescapeHtml } from "./http-browser.ts";
import { SoftwareAuthenticator } from "./software-authenticator.ts";

export type Workload = {
  /** The checkout this workload serves. */
  root: string;
  databaseUrl: string;
  serverPid: number;
  keyPeople: string[];
  appPeople: string[];
  /** Whether a person can sign in with their app now: each code is accepted once. */
  usable: (uuid: string, method: string) => boolean;
  signIn: (uuid: string, acr: string, method: string) => Promise<void>;
  stop: () => Promise<void>;
};

export const benchPassword = "benchmark password for synthetic people";

export async function prepareWorkload(options: {
  adminUrl: string;
  database: string;
  port: string;
  keyUsers: number;
  appUsers: number;
  attestation: string;
  concurrency: number;
}): Promise<Workload> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const { databaseUrl, issuer, environment, store, cis2, key } = await prepareService({
    adminUrl: options.adminUrl,
    database: options.database,
    port: options.port,
    poolSize: 8,
  });
  await seedSynthetic(store, operatorActor(), {
    people: options.keyUsers + options.appUsers,
    positionsPerPerson: 1.5,
  });
  const synthetic = await store.db
    .selectFrom("people")
    .select("uuid")
    .where("ni_number", "like", "S%")
    .where("status", "=", "active")
    .orderBy("uuid")
    .execute();
  const keyPeople = synthetic.slice(0, options.keyUsers).map((row) => row.uuid);
  const appPeople = synthetic
    .slice(options.keyUsers, options.keyUsers + options.appUsers)
    .map((row) => row.uuid);
  await pool(appPeople, 4, (uuid) => setPassword(store.db, operatorActor(), uuid, benchPassword));

  // A security key is FIDO2 (AAL3) only with an attestation chaining to a trusted root: the
  // benchmark's keys carry a batch certificate from a root the service is told to trust.
  const batch = await attestationBatch();
  const attestation =
    options.attestation === "full"
      ? {
          x5c: batch.batch.chain.slice(0, -1).map((certificate) => Buffer.from(certificate.rawData)),
          privateKey: KeyObject.from(batch.batch.keys.privateKey),
        }
      : options.attestation === "packed"
        ? "packed"
        : "none";
  environment.CAREID_WEBAUTHN_ATTESTATION_ROOTS = writeFiles({
    "attestation-root.pem": batch.root.certificate.toString("pem"),
  })["attestation-root.pem"] as string;
  const origin = `http://127.0.0.1:${options.port}`;
  const server = await startProcess(
    [fileURLToPath(new URL("../src/main.ts", import.meta.url)), "serve"],
    environment,
    `${issuer}/.well-known/openid-configuration`,
    root,
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency * 2 });

  // Enrolment through the enrolment-link pages, as each person would do it.
  const authenticators = new Map<string, SoftwareAuthenticator>();
  const appSecrets = new Map<string, { secret: string; lastStep: number }>();
  const started = performance.now();
  await pool(keyPeople, 8, async (uuid) => {
    const { token } = await issueEnrolmentLink(store.db, operatorActor(), { uuid });
    const browser = new HttpBrowser(origin, agent);
    const page = await browser.open(`${origin}/authenticators/enrol/${token}/security-key`);
    const webauthn = JSON.parse(unescapeHtml(/data-webauthn-options="([^"]+)"/.exec(page.body)?.[1] ?? ""));
    const authenticator = new SoftwareAuthenticator(origin, attestation);
    const registered = await browser.submit(formAction(page), {
      response: JSON.stringify(authenticator.create(webauthn)),
    });
    if (!registered.body.includes("Your security key is registered"))
      throw new Error(`enrolment refused for ${uuid}: ${registered.status} ${registered.body.slice(0, 300)}`);
    authenticators.set(uuid, authenticator);
  });
  await pool(appPeople, 8, async (uuid) => {
    const { token } = await issueEnrolmentLink(store.db, operatorActor(), { uuid });
    const browser = new HttpBrowser(origin, agent);
    const page = await browser.open(`${origin}/authenticators/enrol/${token}/app`);
    const secret = /data-secret="([A-Z2-7]+)"/.exec(page.body)?.[1] ?? "";
    const now = new Date();
    const confirmed = await browser.submit(formAction(page), { code: codeAt(secret, now) });
    if (!confirmed.body.includes("Your authenticator app is set up"))
      throw new Error(`app enrolment refused for ${uuid}: ${confirmed.status}`);
    appSecrets.set(uuid, { secret, lastStep: timeStep(now) });
  });
  console.log(
    `${root}: enrolled ${keyPeople.length} security keys (${options.attestation} attestation) and ${appPeople.length} authenticator apps through enrolment links in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  cis2.stop();
  await store.close();

  const configuration = await benchRelyingParty(issuer, key);

  /** The form each sign-in page asks for; an error for a page no sign-in should reach. */
  function answer(page: Page, uuid: string): Record<string, string> {
    const action = formAction(page);
    if (action.endsWith("/identify")) return { identifier: uuid };
    if (action.endsWith("/role"))
      return { role: /name="role"[^>]*value="([^"]+)"/.exec(page.body)?.[1] ?? "" };
    if (action.endsWith("/security-key")) {
      const webauthn = JSON.parse(unescapeHtml(/data-webauthn-options="([^"]+)"/.exec(page.body)?.[1] ?? ""));
      return { response: JSON.stringify((authenticators.get(uuid) as SoftwareAuthenticator).get(webauthn)) };
    }
    if (action.endsWith("/app")) {
      const app = appSecrets.get(uuid) as { secret: string; lastStep: number };
      // A code is accepted once, within a step either side of now: the next unused step.
      const step = Math.max(app.lastStep + 1, timeStep(new Date()) - 1);
      app.lastStep = step;
      return { password: benchPassword, code: codeAt(app.secret, new Date(step * 30_000)) };
    }
    throw new Error(`unexpected form ${action} (${page.status})`);
  }

  /** One whole sign-in, checked: the method and class in the ID token, the role, UserInfo agreeing. */
  async function signIn(uuid: string, acr: string, method: string): Promise<void> {
    const browser = new HttpBrowser(origin, agent, workstationAddress(uuid));
    const { url, exchange } = await benchAuthorization(configuration, acr);
    let page = await browser.open(url.href);
    for (let pages = 0; pages < 6 && !page.url.startsWith(benchRedirectUri); pages++)
      page = await browser.submit(formAction(page), answer(page, uuid));
    if (!page.url.startsWith(benchRedirectUri)) throw new Error(`no redirect to the client: ${page.status}`);
    const tokens = await exchange(page.url);
    const claims = tokens.claims();
    if (claims?.sub !== uuid || claims.acr !== acr || (claims.amr as string[])?.[0] !== method)
      throw new Error(`unexpected ID token ${JSON.stringify(claims)}`);
    if (!claims.selected_roleid) throw new Error(`no role selected for ${uuid}`);
    const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, uuid);
    if (userinfo.selected_roleid !== claims.selected_roleid) throw new Error("UserInfo disagrees");
  }

  const usable = (uuid: string, method: string) =>
    method !== "TOTP" || (appSecrets.get(uuid)?.lastStep ?? 0) < timeStep(new Date()) + 1;
  return {
    root,
    databaseUrl,
    serverPid: server.pid as number,
    keyPeople,
    appPeople,
    usable,
    signIn,
    stop: async () => {
      agent.destroy();
      await stopProcess(server);
    },
  };
}

export async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++] as T);
    }),
  );
}
