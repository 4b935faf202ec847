import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { startPointOfCare } from "../../examples/point-of-care/app.ts";
import { scope } from "../../examples/point-of-care/cis2.ts";
import { operatorActor } from "../../src/audit/actor.ts";
import { addClient } from "../../src/cis2/clients.ts";
import { startMutualTlsListener } from "../../src/cis2/mutual-tls-listener.ts";
import { signInPath } from "../../src/cis2/provider.ts";
import { clientValidator } from "../../src/cis2/start.ts";
import type { Db } from "../../src/store/database.ts";
import { type RunningAgent, startAgent } from "./agent.ts";
import { type Cis2Server, freePort, startCis2Server } from "./cis2-server.ts";
import { runProgram } from "./pki.ts";
import type { BlankCard } from "./tokens.ts";

export type SmartcardWorld = {
  server: Cis2Server;
  agent: RunningAgent;
  pointOfCare: { url: string };
  /** The mutual-TLS listener's own certificate, for curl's --cacert. */
  tlsCertificate: string;
};

/**
 * The service on the demo directory with its mutual-TLS listener, the demo point-of-care app
 * registered as a relying party asking for a smartcard (with back-channel logout), and the
 * workstation agent as a real process on a card. The agent and the service each know the
 * other's address before either starts, as on a real workstation.
 */
export async function startSmartcardWorld(
  t: TestContext,
  card: BlankCard,
  /** Further service settings, e.g. CAREID_CIS1_SIGN_ASSERTIONS. */
  environment: Record<string, string> = {},
): Promise<SmartcardWorld> {
  const { certFile, keyFile } = listenerCertificate(t);
  const [agentPort, tlsPort] = [await freePort(), await freePort()];
  const server = await startCis2Server(t, {
    CAREID_SMARTCARD_AGENT_URL: `http://127.0.0.1:${agentPort}`,
    CAREID_MTLS_PORT: String(tlsPort),
    CAREID_MTLS_CERT: certFile,
    CAREID_MTLS_KEY: keyFile,
    ...environment,
  });
  const listener = await startMutualTlsListener({
    db: server.store.db,
    host: "127.0.0.1",
    port: tlsPort,
    certFile,
    keyFile,
    signInBase: `${server.origin}${signInPath}`,
  });
  t.after(() => listener.close());
  const clientId = "555555555555.apps.point-of-care";
  const clientSecret = "smartcard-test-secret-0123456789abcdef";
  const pointOfCare = await startPointOfCare({
    issuer: server.issuer,
    clientId,
    clientSecret,
    acrValues: "AAL3_SMARTCARD",
    maxAge: 300,
    port: 0,
    host: "127.0.0.1",
    cookieSecret: "a-cookie-secret-for-the-test-only",
    quiet: true,
  });
  t.after(() => pointOfCare.close());
  await addClient(
    server.store.db,
    operatorActor(),
    server.cis2.sealer,
    {
      client_id: clientId,
      client_name: "Point of care (smartcard test)",
      client_secret: clientSecret,
      token_endpoint_auth_method: "client_secret_post",
      redirect_uris: [`${pointOfCare.url}/callback`],
      post_logout_redirect_uris: [`${pointOfCare.url}/`],
      backchannel_logout_uri: `${pointOfCare.url}/backchannel-logout`,
      scope,
      default_acr_values: ["AAL3_SMARTCARD"],
    },
    clientValidator(server.cis2.host),
  );
  const agent = await startAgent(t, { serviceUrl: server.origin, card, port: agentPort });
  return { server, agent, pointOfCare, tlsCertificate: certFile };
}

/** A self-signed certificate for the mutual-TLS listener on 127.0.0.1, made by openssl. */
export function listenerCertificate(t: TestContext): { certFile: string; keyFile: string } {
  const folder = mkdtempSync(join(tmpdir(), "careid-mtls-"));
  t.after(() => rmSync(folder, { recursive: true, force: true }));
  const certFile = join(folder, "listener.pem");
  const keyFile = join(folder, "listener.key");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"]
      .concat(["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
      .concat(["-keyout", keyFile, "-out", certFile]),
    { stdio: "ignore" },
  );
  return { certFile, keyFile };
}

/**
 * curl presenting the card's authentication certificate and key from the token through OpenSSL's
 * PKCS#11 engine, as a network-connected reader would; returns the status and where it redirects.
 */
export async function curlWithCard(
  card: BlankCard,
  options: { url: string; passcode: string; caFile: string },
): Promise<{ status: number; location: string; output: string }> {
  const object = "pkcs11:token=careid-card;id=%01";
  const args = ["-sS", "--cacert", options.caFile, "--engine", "pkcs11"]
    .concat(["--cert-type", "ENG", "--cert", `${object};type=cert`])
    .concat(["--key-type", "ENG", "--key", `${object};type=private;pin-value=${options.passcode}`])
    .concat(["-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", options.url]);
  const { output } = await runProgram("curl", args, {
    ...card.environment,
    PKCS11_MODULE_PATH: card.modulePath,
  });
  const [status = "0", location = ""] = (/(\d{3}) (\S*)\s*$/.exec(output) ?? []).slice(1);
  return { status: Number(status), location, output };
}

/** The card's status once the service has heard of the change (the agent reports asynchronously). */
export async function cardStatusBecomes(
  db: Db,
  serial: string,
  expected: string,
): Promise<string | undefined> {
  let status: string | undefined;
  for (let attempt = 0; attempt < 50 && status !== expected; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
    status = (
      await db.selectFrom("smartcards").select("status").where("serial", "=", serial).executeTakeFirst()
    )?.status;
  }
  return status;
}
