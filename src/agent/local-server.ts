import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { type Agent, type AgentLog, AgentRefusal } from "./agent.ts";
import { agentPage } from "./agent-page.ts";
import { CardError } from "./card.ts";
import { type CardLife, cardLifeActions } from "./card-life.ts";
import type { SelfUnlock } from "./self-unlock.ts";
import { ServiceRefusal } from "./service-client.ts";
import type { SigningEndpoint } from "./signing.ts";
import { ticketSection } from "./ticket-page.ts";
import { serveTicketCall } from "./ticket-routes.ts";
import type { Tickets } from "./tickets.ts";

/**
 * The agent's localhost endpoint. Two kinds of caller, told apart by the browser's Origin:
 * - the agent's own page (forms posted from the agent's origin), where the passcode is typed;
 * - the service's sign-in page (CORS from the one configured service origin), which may only
 *   read the card's status and have a challenge signed.
 * Any other origin is refused before anything is done, and reported in the log and on the
 * agent's page. The Host header must name this loopback address, so a DNS-rebound name cannot
 * reach it. Preflights answer Private Network Access, so a service served from a public address
 * may call this loopback one, and only that service.
 */
export async function startLocalServer(options: {
  agent: Agent;
  serviceOrigin: string;
  port: number;
  log: AgentLog;
  /** Self-service unlock, asked for by the service's unlock page. */
  selfUnlock?: SelfUnlock;
  /** CIS1's Ticket API, for programs on this workstation (ticket-routes.ts). */
  tickets?: Tickets;
  /** Signing prescriptions with the card (signing.ts), when the agent offers it. */
  signing?: SigningEndpoint;
  /** Repair and clear under an RA's order (card-life.ts). */
  cardLife?: CardLife;
}): Promise<{ url: string; close(): Promise<void> }> {
  const { agent, serviceOrigin, log, tickets } = options;
  const refusedOrigins: string[] = [];
  /** The forms of the agent's own page, by the path they post to. */
  const pageActions: Record<string, PageAction> = {
    "/passcode": (value) => agent.enterPasscode(value("passcode")),
    "/sign-out": () => agent.signOut(),
    "/issue": (value) => agent.issue(value("orderCode"), value("passcode"), value("confirmation")),
    "/unlock": (value) => agent.unlock(value("orderCode"), value("passcode"), value("confirmation")),
    ...(tickets ? { "/select-role": (value) => tickets.selectRole(value("role")) } : {}),
    ...(options.cardLife ? cardLifeActions(options.cardLife) : {}),
  };
  let ownHosts: string[] = [];

  const server = createServer((request, response) => {
    handle(request, response).catch((error: Error) => {
      log("request-failed", { error: error.message });
      if (!response.headersSent) send(response, 500, "text/plain", "The agent failed");
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (!ownHosts.includes(request.headers.host ?? ""))
      return send(response, 421, "text/plain", "Wrong host");
    const path = new URL(request.url ?? "/", "http://agent").pathname;
    const origin = request.headers.origin;
    const isOwnOrigin = (caller?: string) => ownHosts.some((host) => caller === `http://${host}`);
    if (options.signing && (await options.signing(request, response, path, origin, isOwnOrigin))) return;
    if (path.startsWith("/api/")) return serviceCall(request, response, path, origin);
    if (tickets && path.startsWith("/ticket/")) {
      // Programs on this computer send no Origin; a web page always does, and is refused.
      if (origin !== undefined) return refuse(response, origin);
      return serveTicketCall(tickets, request, response, path);
    }
    if (request.method === "GET" && path === "/") return page(response, 200);
    if (request.method === "POST" && Object.hasOwn(pageActions, path)) {
      if (!origin || !ownHosts.some((host) => origin === `http://${host}`)) return refuse(response, origin);
      return pageAction(request, response, path);
    }
    return send(response, 404, "text/plain", "Not found");
  }

  async function serviceCall(
    request: IncomingMessage,
    response: ServerResponse,
    path: string,
    origin?: string,
  ) {
    if (origin !== serviceOrigin) return refuse(response, origin);
    response.setHeader("access-control-allow-origin", serviceOrigin);
    response.setHeader("vary", "Origin");
    if (request.method === "OPTIONS") {
      response.setHeader("access-control-allow-methods", "GET, POST");
      response.setHeader("access-control-allow-headers", "content-type");
      response.setHeader("access-control-max-age", "600");
      if (request.headers["access-control-request-private-network"] === "true")
        response.setHeader("access-control-allow-private-network", "true");
      return send(response, 204, "text/plain", "");
    }
    try {
      if (request.method === "GET" && path === "/api/card") return json(response, 200, agent.status());
      if (request.method === "POST" && path === "/api/sign") {
        const body = JSON.parse((await readBody(request)) || "{}") as { challenge?: unknown };
        if (typeof body.challenge !== "string" || !/^[A-Za-z0-9_-]{16,128}$/.test(body.challenge))
          return problem(response, 400, "Send the service's challenge to sign");
        return json(response, 200, agent.signChallenge(body.challenge));
      }
      if (request.method === "POST" && path === "/api/unlock" && options.selfUnlock) {
        const body = JSON.parse((await readBody(request)) || "{}") as Record<string, unknown>;
        const [ticket, passcode, confirmation] = ["ticket", "passcode", "confirmation"].map((name) =>
          typeof body[name] === "string" ? (body[name] as string) : "",
        );
        if (!/^[A-Za-z0-9_-]{16,128}$/.test(ticket as string))
          return problem(response, 400, "Send the unlock ticket the service gave");
        const text = await options.selfUnlock(ticket as string, passcode as string, confirmation as string);
        return json(response, 200, { text });
      }
    } catch (error) {
      if (error instanceof AgentRefusal) return problem(response, error.status, error.message);
      if (error instanceof CardError) return problem(response, 409, error.message);
      if (error instanceof ServiceRefusal) return problem(response, error.status, error.message);
      throw error;
    }
    return problem(response, 404, "There is no such agent call");
  }

  async function pageAction(request: IncomingMessage, response: ServerResponse, path: string) {
    try {
      const form = new URLSearchParams(await readBody(request));
      const value = (name: string) => form.get(name) ?? "";
      const text = await (pageActions[path] as PageAction)(value);
      return page(response, 200, { text, error: false });
    } catch (error) {
      if (error instanceof AgentRefusal || error instanceof ServiceRefusal)
        return page(response, error.status, { text: error.message, error: true });
      if (error instanceof CardError) return page(response, 409, { text: error.message, error: true });
      throw error;
    }
  }

  function page(response: ServerResponse, status: number, message?: { text: string; error: boolean }) {
    response.setHeader(
      "content-security-policy",
      "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    response.setHeader("x-frame-options", "DENY");
    response.setHeader("cache-control", "no-store");
    send(
      response,
      status,
      "text/html; charset=utf-8",
      agentPage(agent.status(), message, refusedOrigins, ticketSection(tickets?.pageState())),
    );
  }

  function refuse(response: ServerResponse, origin: string | undefined) {
    const caller = origin ?? "(no origin)";
    log("origin-refused", { origin: caller });
    if (!refusedOrigins.includes(caller)) refusedOrigins.push(caller);
    problem(response, 403, "This smartcard agent serves only its own page and the Care Identity Service");
  }

  await new Promise<void>((resolve) => server.listen(options.port, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  ownHosts = [`127.0.0.1:${port}`, `localhost:${port}`];
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // Browsers keep connections open; stopping the agent must not wait for them.
        server.closeAllConnections();
      }),
  };
}

type PageAction = (value: (name: string) => string) => Promise<string>;

export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16_384) throw new AgentRefusal(413, "Too much data");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { "content-type": type });
  response.end(body);
}

export function json(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, "application/json", JSON.stringify(body));
}

export function problem(response: ServerResponse, status: number, detail: string): void {
  send(
    response,
    status,
    "application/problem+json",
    JSON.stringify({
      type: "https://careid.example/problems/smartcard-agent",
      title: "Smartcard agent",
      status,
      detail,
    }),
  );
}
