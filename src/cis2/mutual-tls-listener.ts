import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { TLSSocket } from "node:tls";
import { toPem } from "../pki/engine.ts";
import type { Db } from "../store/database.ts";
import { ticketForCertificate } from "./smartcard-tls.ts";

/**
 * The HTTPS listener of the network-connected smartcard path. It asks every client for a
 * certificate from our issuing CA; the handshake proves the card holds the key, and the service
 * checks the certificate itself (chain, validity, revocation, card status), so a refusal is a
 * page that says why rather than a failed handshake. Its one page sends the browser back to the
 * sign-in journey with a one-use ticket.
 */
export type MutualTlsListener = { url: string; close(): Promise<void> };

const pathPattern = /^\/cis2\/signin\/([A-Za-z0-9_-]{1,64})\/smartcard-tls$/;

export async function startMutualTlsListener(options: {
  db: Db;
  host: string;
  port: number;
  certFile: string;
  keyFile: string;
  /** Where the sign-in journey's pages are, e.g. https://careid.example/cis2/signin */
  signInBase: string;
}): Promise<MutualTlsListener> {
  const authorities = await options.db.selectFrom("pki_authorities").select("certificate").execute();
  const server: Server = createServer(
    {
      cert: readFileSync(options.certFile),
      key: readFileSync(options.keyFile),
      ca: authorities.map((authority) => toPem(authority.certificate)),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    (request, response) => {
      handle(options, request, response).catch(() => {
        if (!response.headersSent) page(response, 500, "The smartcard sign-in failed. Try again.");
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(options.port, options.host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function handle(
  options: { db: Db; signInBase: string },
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const uid = pathPattern.exec(new URL(request.url ?? "/", "https://listener").pathname)?.[1];
  if (request.method !== "GET" || !uid) return page(response, 404, "There is nothing here.");
  const back = `${options.signInBase}/${uid}/smartcard`;
  const certificate = (request.socket as TLSSocket).getPeerCertificate();
  if (!certificate?.raw)
    return page(
      response,
      401,
      "No smartcard certificate was presented. Insert your smartcard and try again.",
      back,
    );
  const outcome = await ticketForCertificate(
    options.db,
    { kind: "system", id: "cis2-mutual-tls", source: "CIS2", correlationId: uid },
    { interactionUid: uid, certificateChain: [certificate.raw.toString("base64")] },
  );
  if ("refused" in outcome)
    return page(response, 403, `Your smartcard was not accepted: ${outcome.refused}.`, back);
  response.writeHead(303, {
    location: `${options.signInBase}/${uid}/smartcard-tls?ticket=${outcome.ticket}`,
    "cache-control": "no-store",
  });
  response.end();
}

function page(response: ServerResponse, status: number, message: string, back?: string): void {
  response.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "cache-control": "no-store",
  });
  const escaped = message.replace(/[&<>"]/g, (character) => `&#${character.charCodeAt(0)};`);
  response.end(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Smartcard sign-in</title></head><body><main><h1>Smartcard sign-in</h1><p id="message">${escaped}</p>${back ? `<p><a href="${back}">Return to sign in</a></p>` : ""}</main></body></html>`,
  );
}
