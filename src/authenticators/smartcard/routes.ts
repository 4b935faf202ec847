import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Actor } from "../../audit/actor.ts";
import { InvalidInputError } from "../../errors.ts";
import type { Queryable } from "../../store/database.ts";
import { type CardSettings, issueCard, releaseUnlockCode, renewCard } from "./cards.ts";
import { issueSmartcardChallenge } from "./challenges.ts";
import { reportLockWithProof } from "./lock-report.ts";
import { showCard } from "./records.ts";

/**
 * The service's side of the workstation agent's protocol (docs/smartcard-agent-protocol.md).
 * The agent carries an RA's order code for anything that needs authority; reporting a lock
 * needs no order but the card's own proof that it is in the reader (lock-report.ts).
 */
export function registerSmartcardApi(
  app: FastifyInstance,
  queryable: Queryable,
  settings: CardSettings,
): void {
  const bodyOf = (request: FastifyRequest) => {
    if (typeof request.body !== "object" || request.body === null || Array.isArray(request.body))
      throw InvalidInputError.field("body", "must be a JSON object");
    return request.body as Record<string, unknown>;
  };
  const agent = (request: FastifyRequest): Actor => ({
    kind: "system",
    id: "smartcard-agent",
    source: "AGENT",
    correlationId: request.id,
  });
  const secret = { "cache-control": "no-store" };

  app.post("/api/smartcards/issue", async (request, reply) => {
    const body = bodyOf(request);
    const issued = await issueCard(queryable, settings, {
      orderCode: body.orderCode,
      cardSerial: body.cardSerial,
      cardType: body.cardType,
      authenticationCsr: body.authenticationCsr,
      signingCsr: body.signingCsr,
      presenceKey: body.presenceKey,
    });
    return reply.code(201).headers(secret).send(issued);
  });

  app.post("/api/smartcards/challenges", async (_request, reply) => {
    const { challenge, expiresAt } = await issueSmartcardChallenge(queryable);
    return reply.code(201).headers(secret).send({ challenge, expiresAt: expiresAt.toISOString() });
  });

  app.post("/api/smartcards/renew", async (request, reply) => {
    const body = bodyOf(request);
    const proof = (typeof body.proof === "object" && body.proof !== null ? body.proof : {}) as Record<
      string,
      unknown
    >;
    const renewed = await renewCard(queryable, settings, {
      orderCode: body.orderCode,
      cardSerial: body.cardSerial,
      authenticationCsr: body.authenticationCsr,
      signingCsr: body.signingCsr,
      proof: {
        certificateChain: proof.certificateChain,
        challenge: proof.challenge,
        signature: proof.signature,
      },
    });
    return reply.headers(secret).send(renewed);
  });

  app.post("/api/smartcards/unlock", async (request, reply) => {
    const body = bodyOf(request);
    const released = await releaseUnlockCode(queryable, settings.sealer, {
      orderCode: body.orderCode,
      cardSerial: body.cardSerial,
    });
    return reply.headers(secret).send(released);
  });

  app.post<{ Params: { cardSerial: string } }>(
    "/api/smartcards/cards/:cardSerial/status",
    async (request) => {
      const body = bodyOf(request);
      if (body.status !== "locked")
        throw InvalidInputError.field("status", 'must be "locked": the only status an agent reports');
      const proof = (typeof body.proof === "object" && body.proof !== null ? body.proof : {}) as Record<
        string,
        unknown
      >;
      return reportLockWithProof(queryable, agent(request), {
        cardSerial: request.params.cardSerial,
        challenge: proof.challenge,
        signature: proof.signature,
      });
    },
  );

  app.get<{ Params: { cardSerial: string } }>("/api/smartcards/cards/:cardSerial", async (request) => {
    const card = await showCard(queryable, request.params.cardSerial);
    return { cardSerial: card.cardSerial, status: card.status, certificates: card.certificates };
  });
}
