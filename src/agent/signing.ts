import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AgentLog } from "./agent.ts";
import type { Card } from "./card.ts";
import { CardError } from "./card.ts";
import { json, problem, readBody, send } from "./local-server.ts";

/**
 * Signing prescriptions with the card's signing key (never the authentication key). A
 * prescribing application (a page of an allowed origin, the service's browser signing page, or a
 * program on the workstation, which sends no Origin) posts a batch of SHA-256 digests of
 * canonical SignedInfo elements; nothing is signed until the holder, on the agent's own page,
 * sees who asks and how many, and enters the passcode for this batch. The application then
 * collects the signatures and the signing certificate, once.
 */
export const maxDigests = 250;
const batchMinutes = 10;

type Batch = {
  origin: string;
  digests: Buffer[];
  created: number;
  outcome?: { signatures: string[]; certificate: string } | "declined";
};

/** Handles a request if it is the signing operation's, answering true; false leaves it to the agent. */
export type SigningEndpoint = (
  request: IncomingMessage,
  response: ServerResponse,
  path: string,
  origin: string | undefined,
  isOwnOrigin: (origin: string | undefined) => boolean,
) => Promise<boolean>;

export function cardSigning(options: {
  card: Card;
  log: AgentLog;
  /** Origins whose pages may ask: the service's (its browser signing page) and configured applications'. */
  allowedOrigins: string[];
}): SigningEndpoint {
  const { card, log } = options;
  const batches = new Map<string, Batch>();
  const workstation = "(this workstation)";

  function current(id: string): Batch | undefined {
    const batch = batches.get(id);
    if (batch && Date.now() - batch.created > batchMinutes * 60_000) batches.delete(id);
    return batches.get(id);
  }

  function openBatch(origin: string | undefined, body: unknown): { batch: string; approveUrl: string } {
    const digests = (body as { digests?: unknown })?.digests;
    if (!Array.isArray(digests) || digests.length === 0 || digests.length > maxDigests)
      throw new SigningRefusal(400, `Send 1 to ${maxDigests} SHA-256 digests (base64) as digests`);
    const decoded = digests.map((digest) =>
      typeof digest === "string" && /^[A-Za-z0-9+/]{43}=$/.test(digest)
        ? Buffer.from(digest, "base64")
        : undefined,
    );
    if (decoded.some((digest) => digest?.length !== 32))
      throw new SigningRefusal(
        400,
        "Each digest must be the base64 of 32 bytes (SHA-256 of a canonical SignedInfo)",
      );
    const id = randomBytes(16).toString("base64url");
    batches.set(id, { origin: origin ?? workstation, digests: decoded as Buffer[], created: Date.now() });
    log("signing-requested", { batch: id, origin: origin ?? workstation, count: decoded.length });
    return { batch: id, approveUrl: `/signing/${id}` };
  }

  function collect(id: string, origin: string | undefined) {
    const batch = current(id);
    if (!batch || batch.origin !== (origin ?? workstation))
      throw new SigningRefusal(404, "There is no such signing batch");
    if (!batch.outcome) return { status: "pending" };
    batches.delete(id);
    if (batch.outcome === "declined") return { status: "declined" };
    return { status: "signed", ...batch.outcome };
  }

  /** The holder's approval: the passcode for this batch, then every digest signed by the signing key. */
  function approve(id: string, passcode: string): string {
    const batch = current(id);
    if (!batch || batch.outcome) throw new SigningRefusal(404, "This signing request has ended");
    const certificate = card.readCertificate("signing");
    if (!certificate) throw new SigningRefusal(409, "This smartcard has no signing certificate");
    const outcome = card.signIn(passcode);
    if (outcome.outcome === "locked") throw new SigningRefusal(423, "Your smartcard is locked");
    if (outcome.outcome === "wrong") {
      log("signing-passcode-wrong", { batch: id, lastTry: outcome.lastTry });
      throw new SigningRefusal(
        401,
        outcome.lastTry
          ? "The passcode is not correct. One more wrong passcode will lock your smartcard."
          : "The passcode is not correct",
      );
    }
    const signatures = batch.digests.map((digest) => card.signDigest("signing", digest).toString("base64"));
    batch.outcome = { signatures, certificate: certificate.toString("base64") };
    log("signing-approved", { batch: id, origin: batch.origin, count: signatures.length });
    return `Your smartcard signed ${signatures.length} prescription${signatures.length === 1 ? "" : "s"}. Return to ${batch.origin === workstation ? "your prescribing application" : batch.origin}.`;
  }

  function decline(id: string): string {
    const batch = current(id);
    if (!batch || batch.outcome) throw new SigningRefusal(404, "This signing request has ended");
    batch.outcome = "declined";
    log("signing-declined", { batch: id, origin: batch.origin });
    return "Nothing was signed.";
  }

  function page(
    response: ServerResponse,
    status: number,
    id: string,
    message?: { text: string; error: boolean },
  ) {
    response.setHeader(
      "content-security-policy",
      "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    response.setHeader("x-frame-options", "DENY");
    response.setHeader("cache-control", "no-store");
    send(response, status, "text/html; charset=utf-8", signingPage(id, current(id), message));
  }

  return async function handle(request, response, path, origin, isOwnOrigin) {
    const api = /^\/api\/signing\/batches(?:\/([A-Za-z0-9_-]{1,64}))?$/.exec(path);
    const own = /^\/signing\/([A-Za-z0-9_-]{1,64})(\/decline)?$/.exec(path);
    if (!api && !own) return false;
    if (api) {
      if (origin !== undefined && !options.allowedOrigins.includes(origin)) {
        log("origin-refused", { origin });
        problem(response, 403, "This smartcard agent signs only for its own applications");
        return true;
      }
      if (origin) {
        response.setHeader("access-control-allow-origin", origin);
        response.setHeader("vary", "Origin");
      }
      try {
        if (request.method === "OPTIONS") {
          response.setHeader("access-control-allow-methods", "GET, POST");
          response.setHeader("access-control-allow-headers", "content-type");
          if (request.headers["access-control-request-private-network"] === "true")
            response.setHeader("access-control-allow-private-network", "true");
          send(response, 204, "text/plain", "");
        } else if (request.method === "POST" && !api[1])
          json(response, 201, openBatch(origin, JSON.parse((await readBody(request)) || "{}")));
        else if (request.method === "GET" && api[1]) json(response, 200, collect(api[1], origin));
        else problem(response, 404, "There is no such agent call");
      } catch (error) {
        if (error instanceof SigningRefusal) problem(response, error.status, error.message);
        else if (error instanceof SyntaxError) problem(response, 400, "Send JSON");
        else throw error;
      }
      return true;
    }
    const id = own?.[1] as string;
    if (request.method === "GET" && !own?.[2]) {
      page(response, current(id) ? 200 : 404, id);
      return true;
    }
    if (request.method !== "POST") return false;
    if (!isOwnOrigin(origin)) {
      log("origin-refused", { origin: origin ?? "(no origin)" });
      problem(response, 403, "The signing page is the agent's own");
      return true;
    }
    try {
      const form = new URLSearchParams(await readBody(request));
      const text = own?.[2] ? decline(id) : approve(id, form.get("passcode") ?? "");
      page(response, 200, id, { text, error: false });
    } catch (error) {
      if (error instanceof SigningRefusal)
        page(response, error.status, id, { text: error.message, error: true });
      else if (error instanceof CardError) page(response, 409, id, { text: error.message, error: true });
      else throw error;
    }
    return true;
  };
}

class SigningRefusal extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

function signingPage(
  id: string,
  batch: Batch | undefined,
  message?: { text: string; error: boolean },
): string {
  const notice = message
    ? `<p role="${message.error ? "alert" : "status"}">${escapeHtml(message.text)}</p>`
    : "";
  const form =
    batch && !batch.outcome
      ? `<p>${escapeHtml(batch.origin)} asks your smartcard to sign <strong>${batch.digests.length}</strong> prescription${batch.digests.length === 1 ? "" : "s"}.</p>
<form method="post" action="/signing/${id}">
<label for="passcode">Smartcard passcode</label>
<input id="passcode" name="passcode" type="password" inputmode="numeric" autocomplete="off">
<button type="submit">Sign ${batch.digests.length} prescription${batch.digests.length === 1 ? "" : "s"}</button>
</form>
<form method="post" action="/signing/${id}/decline"><button type="submit">Do not sign</button></form>`
      : batch
        ? ""
        : "<p>This signing request has ended.</p>";
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign prescriptions – smartcard agent</title></head><body><h1>Sign prescriptions</h1>${notice}${form}</body></html>`;
}
