import { fileURLToPath } from "node:url";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { relyingPartyFor } from "../authenticators/webauthn/relying-party.ts";
import { readClientMetadata } from "../cis2/clients.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { pageRenderer } from "../web/pages.ts";
import { problemFor, sendProblem } from "../web/problem.ts";
import { acceptCardSignatures, type CardSignatures } from "./card-signatures.ts";
import type { KeySettings } from "./remote-keys.ts";
import {
  beginPresenceCheck,
  collectSignatures,
  completePresenceCheck,
  createSignatureRequest,
  presencePath,
} from "./remote-requests.ts";
import { RequestTokenError, readRequestToken } from "./request-token.ts";

/**
 * The remote Digital Signature Service: `POST /signaturerequest` (a client's RS512 JWT),
 * the prescriber's presence check at `/signing/{token}`, and `GET /signatureresponse/{token}`.
 * Refusals are RFC 9457 problem+json on the API and NHS error pages on the presence pages.
 */
export type RemoteSigningOptions = {
  db: Db;
  sealer: Sealer;
  issuer: string;
  keys: KeySettings;
  /** The workstation smartcard agent the browser signing page hands digests to. */
  agentUrl: string;
};

const { renderPage } = pageRenderer([fileURLToPath(new URL("./views/", import.meta.url))]);
const problemBase = "https://careid.example/problems/";

export function registerRemoteSigning(app: FastifyInstance, options: RemoteSigningOptions): void {
  const { db, sealer, keys } = options;
  const relyingParty = relyingPartyFor(options.issuer);
  const origin = new URL(options.issuer).origin;

  app.register(async (scope) => {
    scope.addContentTypeParser(
      "application/jwt",
      { parseAs: "string", bodyLimit: 4 * 1024 * 1024 },
      (_request, body, done) => done(null, body),
    );
    scope.post("/signaturerequest", { bodyLimit: 4 * 1024 * 1024 }, async (request, reply) => {
      try {
        const claims = await readRequestToken(
          typeof request.body === "string" ? request.body.trim() : "",
          (clientId) => readClientMetadata(db, sealer, clientId),
        );
        return reply.send(await createSignatureRequest(db, claims, origin));
      } catch (error) {
        return refuse(request, reply, error);
      }
    });
  });

  app.get<{ Params: { token: string } }>("/signatureresponse/:token", async (request, reply) => {
    try {
      const collected = await collectSignatures(db, request.params.token);
      return collected.status === "pending"
        ? reply.code(202).send(collected)
        : reply.send({ signatures: collected.signatures, certificate: collected.certificate });
    } catch (error) {
      return refuse(request, reply, error);
    }
  });

  app.register(fastifyStatic, {
    root: fileURLToPath(new URL("./browser/", import.meta.url)),
    prefix: `${presencePath}/scripts/`,
    decorateReply: false,
    maxAge: "1h",
  });

  /** The presence page: a security key's ceremony, a smartcard through the agent, or both. */
  async function showPresence(reply: FastifyReply, token: string, error?: { text: string; status: number }) {
    const {
      request: pending,
      options: ceremony,
      hasCard,
    } = await beginPresenceCheck(db, relyingParty, token);
    const keys = (ceremony.allowCredentials?.length ?? 0) > 0;
    const page = {
      ...presencePage(token, pending),
      options: keys ? JSON.stringify(ceremony) : undefined,
      card: hasCard ? { agentUrl: options.agentUrl, digests: JSON.stringify(pending.digests) } : undefined,
    };
    if (!keys && !hasCard)
      return renderPage(
        reply,
        "presence.njk",
        {
          ...page,
          errorList: [
            ...(error ? [{ text: error.text }] : []),
            {
              text: "You have no AAL3 authenticator (security key, Windows Hello or smartcard) to sign with: ask your Registration Authority for one.",
            },
          ],
        },
        error?.status ?? 403,
      );
    return renderPage(
      reply,
      "presence.njk",
      { ...page, errorList: error && [{ text: error.text }] },
      error?.status ?? 200,
    );
  }

  app.get<{ Params: { token: string } }>(`${presencePath}/:token`, async (request, reply) => {
    try {
      return await showPresence(reply, request.params.token);
    } catch (error) {
      return refusePage(reply, error);
    }
  });

  app.post<{ Params: { token: string }; Body: { response?: string } }>(
    `${presencePath}/:token`,
    async (request, reply) => {
      try {
        const outcome = await completePresenceCheck(
          db,
          relyingParty,
          keys,
          request.params.token,
          request.body?.response ?? "",
        );
        if (outcome.signed)
          return renderPage(reply, "presence.njk", {
            pageTitle: "Signed",
            done: true,
            count: outcome.count,
            clientId: outcome.clientId,
          });
        return await showPresence(reply, request.params.token, {
          text: outcome.message,
          status: outcome.status,
        });
      } catch (error) {
        return refusePage(reply, error);
      }
    },
  );

  app.post<{ Params: { token: string }; Body: CardSignatures }>(
    `${presencePath}/:token/card`,
    async (request, reply) => {
      try {
        return reply.send(
          await acceptCardSignatures(
            db,
            request.params.token,
            request.body ?? { signatures: undefined, certificate: undefined },
          ),
        );
      } catch (error) {
        return refuse(request, reply, error);
      }
    },
  );
}

function presencePage(token: string, pending: { clientId: string; itemCount: number; holder: string }) {
  return {
    pageTitle: "Sign prescriptions",
    action: `${presencePath}/${token}`,
    clientId: pending.clientId,
    count: pending.itemCount,
    holder: pending.holder,
  };
}

function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  if (error instanceof RequestTokenError)
    return sendProblem(request, reply, {
      type: `${problemBase}${error.code}`,
      title: "Signature request refused",
      status: error.status,
      detail: error.message,
    });
  return sendProblem(request, reply, problemFor(error));
}

function refusePage(reply: FastifyReply, error: unknown) {
  if (!(error instanceof RequestTokenError)) throw error;
  return renderPage(
    reply,
    "presence.njk",
    { pageTitle: "You cannot sign these items", errorList: [{ text: error.message }] },
    error.status,
  );
}
