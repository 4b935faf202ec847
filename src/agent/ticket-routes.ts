import type { IncomingMessage, ServerResponse } from "node:http";
import { AgentRefusal } from "./agent.ts";
import { CardError } from "./card.ts";
import { json, problem, readBody } from "./local-server.ts";
import { ServiceRefusal } from "./service-client.ts";
import { defaultWaitSeconds, type Tickets } from "./tickets.ts";

/**
 * The Ticket API's HTTP face on the agent's loopback address (docs/cis1-ticket-api.md). Its
 * callers are programs on the workstation, not web pages: the local server has already refused
 * any request that carries an Origin, which browsers send with every cross-origin POST.
 */
export async function serveTicketCall(
  tickets: Tickets,
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
): Promise<void> {
  if (request.method !== "POST") {
    response.setHeader("allow", "POST");
    return problem(response, 405, "Ticket API calls are POSTs");
  }
  response.setHeader("cache-control", "no-store");
  try {
    const body = parseBody(await readBody(request));
    if (path === "/ticket/getTicket") return json(response, 200, await tickets.getTicket(waitSeconds(body)));
    if (path === "/ticket/getTicketNoAuth") return json(response, 200, await tickets.getTicketNoAuth());
    if (path === "/ticket/isTokenValid") {
      if (body.token !== undefined && typeof body.token !== "string")
        throw new AgentRefusal(400, "token must be a string");
      const valid = await tickets.isTokenValid(body.token as string | undefined);
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8" });
      return void response.end(`boolean=${valid}`);
    }
  } catch (error) {
    if (error instanceof AgentRefusal || error instanceof ServiceRefusal)
      return problem(response, error.status, error.message);
    if (error instanceof CardError) return problem(response, 409, error.message);
    throw error;
  }
  return problem(response, 404, "There is no such Ticket API call");
}

function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AgentRefusal(400, "The request body must be JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    throw new AgentRefusal(400, "The request body must be a JSON object");
  return parsed as Record<string, unknown>;
}

function waitSeconds(body: Record<string, unknown>): number {
  const value = body.waitSeconds ?? defaultWaitSeconds;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 300)
    throw new AgentRefusal(400, "waitSeconds must be a whole number from 0 to 300");
  return value;
}
