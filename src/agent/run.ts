import { cardAgent } from "./agent.ts";
import { openCardModule } from "./card.ts";
import { cardLife } from "./card-life.ts";
import { startLocalServer } from "./local-server.ts";
import { selfServiceUnlock } from "./self-unlock.ts";
import { serviceClient } from "./service-client.ts";
import { cardSigning } from "./signing.ts";
import { ticketAgent } from "./tickets.ts";

export type AgentOptions = {
  /** The Care Identity Service's base URL; its origin is the only one whose pages may call the agent. */
  serviceUrl: string;
  /** The PKCS#11 module: OpenSC for card readers, a software token in tests. */
  modulePath: string;
  port: number;
  /** The unlock code (SO PIN) blank cards arrive with. */
  blankUnlockCode: string;
  pollMilliseconds: number;
  /** Origins of prescribing applications whose pages may ask the card to sign (the service's always may). */
  signingOrigins?: string[];
};

export const defaultAgentOptions = {
  modulePath: `/usr/lib/${process.arch === "arm64" ? "aarch64" : "x86_64"}-linux-gnu/opensc-pkcs11.so`,
  port: 8765,
  blankUnlockCode: "87654321",
  pollMilliseconds: 1000,
};

/**
 * The workstation agent: the card reader through PKCS#11, the service through HTTP, and a
 * localhost endpoint for the holder's browser. Events go to standard output as JSON lines,
 * never with a passcode or an unlock code in them.
 */
export async function runAgent(options: AgentOptions): Promise<{ url: string; stop(): Promise<void> }> {
  const serviceOrigin = new URL(options.serviceUrl).origin;
  const log = (event: string, details: Record<string, unknown> = {}) =>
    console.log(JSON.stringify({ time: new Date().toISOString(), event, ...details }));
  const card = openCardModule(options.modulePath);
  const service = serviceClient(options.serviceUrl);
  const agent = cardAgent({
    card,
    service,
    blankUnlockCode: options.blankUnlockCode,
    log,
  });
  const tickets = ticketAgent({ agent, service, log });
  await agent.watch();
  const selfUnlock = selfServiceUnlock({ card, service, log });
  const signing = cardSigning({
    card,
    log,
    allowedOrigins: [serviceOrigin, ...(options.signingOrigins ?? [])],
  });
  const server = await startLocalServer({
    agent,
    serviceOrigin,
    port: options.port,
    log,
    selfUnlock,
    tickets,
    signing,
    cardLife: cardLife({ card, service, blankUnlockCode: options.blankUnlockCode, log }),
  });
  let watching = false;
  const timer = setInterval(() => {
    if (watching) return;
    watching = true;
    agent
      .watch()
      .catch((error: Error) => log("watch-failed", { error: error.message }))
      .finally(() => {
        watching = false;
      });
  }, options.pollMilliseconds);
  log("listening", { url: server.url, service: serviceOrigin, module: options.modulePath });
  return {
    url: server.url,
    async stop() {
      clearInterval(timer);
      await server.close();
      card.close();
    },
  };
}
