import { type ChildProcess, spawn } from "node:child_process";
import type { TestContext } from "node:test";
import { operatorActor } from "../../src/audit/actor.ts";
import { addUpstreamProvider } from "../../src/authenticators/federation/providers.ts";
import { callbackPath, federationPath } from "../../src/authenticators/federation/upstream-client.ts";
import type { Cis2Server } from "../support/cis2-server.ts";

const program = new URL("./entra-like-provider.ts", import.meta.url).pathname;

export type Upstream = {
  child: ChildProcess;
  issuer: string;
  origin: string;
  tenant: string;
  /** The next ID token it issues has these claims changed (and is signed again). */
  tamper(claims: Record<string, unknown>): Promise<void>;
};

export const upstreamClientId = "6731de76-14a6-49ae-97bc-6eba6914391e";
const upstreamClientSecret = "an-upstream-client-secret-for-tests";

/**
 * Starts the Entra-like upstream as its own process for a CIS2 server, and configures it as that
 * server's NHS.net Connect provider (as `careid federation add` does), allowing nhs.net addresses.
 */
export async function startUpstream(
  t: TestContext,
  server: Cis2Server,
  options: { allowedDomains?: string[]; tenant?: string } = {},
): Promise<Upstream> {
  const tenant = options.tenant ?? "9188040d-6c67-4c5b-b112-36a304b66dad";
  const child = spawn(process.execPath, [program], {
    env: {
      ...process.env,
      UPSTREAM_TENANT: tenant,
      UPSTREAM_CLIENT_ID: upstreamClientId,
      UPSTREAM_CLIENT_SECRET: upstreamClientSecret,
      UPSTREAM_REDIRECT_URI: `${server.origin}${callbackPath}`,
      UPSTREAM_BACKCHANNEL_URI: `${server.origin}${federationPath}/nhsmail/backchannel-logout`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.after(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", (chunk) => {
      output += chunk;
      const match = /listening (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.stderr?.on("data", (chunk) => (output += chunk));
    child.on("exit", (code) => reject(new Error(`the upstream exited ${code}:\n${output}`)));
  });
  const origin = `http://127.0.0.1:${port}`;
  const issuer = `${origin}/${tenant}/v2.0`;
  await addUpstreamProvider(server.store.db, operatorActor(), server.cis2.sealer, {
    id: "nhsmail",
    displayName: "NHS.net Connect",
    issuer,
    clientId: upstreamClientId,
    clientSecret: upstreamClientSecret,
    scopes: "openid profile email",
    identifyingClaim: "oid",
    tenantId: options.tenant ? "9188040d-6c67-4c5b-b112-36a304b66dad" : tenant,
    allowedDomains: options.allowedDomains ?? ["nhs.net"],
  });
  return {
    child,
    issuer,
    origin,
    tenant,
    async tamper(claims) {
      const answer = await fetch(`${origin}/_test/tamper`, { method: "POST", body: JSON.stringify(claims) });
      if (answer.status !== 204) throw new Error(`tamper: ${answer.status}`);
    },
  };
}
