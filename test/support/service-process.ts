import { type ChildProcess, spawn } from "node:child_process";
import type { TestContext } from "node:test";
import * as client from "openid-client";
import { loadConfig, realmPath } from "../../src/config.ts";
import { cimApp } from "../../src/registration/pages/app.ts";
import { firstPartyClientSecret } from "../../src/web/first-party/app.ts";
import { demoClientConfiguration } from "../cis2/journey.ts";
import type { RelyingParty } from "../registration/cim-api.ts";
import { type Cis2Server, freePort } from "./cis2-server.ts";

const main = new URL("../../src/main.ts", import.meta.url).pathname;

/** The master key every test service process seals its secrets with. */
export const serviceMasterKey = "ab".repeat(32);

export type ServiceProcess = {
  child: ChildProcess;
  origin: string;
  issuer: string;
  /** Everything the process printed so far, standard output and error together. */
  output(): string;
  exited(): Promise<number | null>;
};

/**
 * `careid serve` as a real process, as an operator runs it, on a free port; resolves once it
 * says it is running. Killed when the test ends.
 */
export async function startServiceProcess(
  t: TestContext,
  environment: Record<string, string>,
  args: string[] = ["serve", "--demo"],
): Promise<ServiceProcess> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}${realmPath}`;
  const child = spawn(process.execPath, [main, ...args], {
    env: {
      ...process.env,
      LOG_LEVEL: "warn",
      PORT: String(port),
      CAREID_ISSUER: issuer,
      CAREID_LDAP_PORT: "0",
      CAREID_MASTER_KEY: serviceMasterKey,
      CAREID_DRAIN_SECONDS: "0",
      ...environment,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk) => (output += chunk));
  child.stderr?.on("data", (chunk) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  const deadline = Date.now() + 120_000;
  while (!output.includes("Press Ctrl+C to stop")) {
    if (child.exitCode !== null) throw new Error(`careid serve exited ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`careid serve did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { child, origin, issuer, output: () => output, exited: () => exit };
}

/** CIM's own client at a demo service process, whose secret the test derives from the master key as the service does. */
export async function cimRelyingParty(service: ServiceProcess): Promise<RelyingParty> {
  const cim = cimApp(loadConfig({ CAREID_ISSUER: service.issuer }), true);
  const secret = firstPartyClientSecret(Buffer.from(serviceMasterKey, "hex"), cim);
  const server = { origin: service.origin, issuer: service.issuer } as Cis2Server;
  return {
    configuration: await demoClientConfiguration(server, client.ClientSecretPost(secret), cim.clientId),
    redirectUri: `${service.origin}${cim.path}/callback`,
  };
}
