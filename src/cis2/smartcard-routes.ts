import fastifyStatic from "@fastify/static";
import type { FastifyInstance } from "fastify";
import { InvalidInputError } from "../errors.ts";
import type { Db } from "../store/database.ts";
import { recordCardPresent, recordCardRemoved } from "./smartcard-presence.ts";

/** The sign-in page's smartcard module, served from this origin for script-src 'self'. */
export async function registerSmartcardScripts(app: FastifyInstance): Promise<void> {
  await app.register(fastifyStatic, {
    root: new URL("./browser/", import.meta.url).pathname,
    prefix: "/cis2/scripts/",
    decorateReply: false,
    maxAge: "1h",
  });
}

type Serial = { serial: string };

/** The agent reports a card present (with the card's signature) and removed (with its secret). */
export function registerSmartcardPresence(app: FastifyInstance, db: Db): void {
  const actor = (serial: string, requestId: string) => ({
    kind: "system" as const,
    id: `smartcard-agent:${serial}`,
    source: "API",
    correlationId: requestId,
  });

  app.post<{ Params: Serial; Body: Record<string, unknown> }>(
    "/api/smartcards/cards/:serial/presence",
    async (request, reply) => {
      const body = request.body ?? {};
      const proof = body.proof as Record<string, unknown> | undefined;
      const chain = proof?.certificateChain;
      if (
        !Array.isArray(chain) ||
        !chain.every((item) => typeof item === "string") ||
        typeof proof?.challenge !== "string" ||
        typeof proof?.signature !== "string"
      )
        throw InvalidInputError.field(
          "proof",
          "give the card's certificateChain, the challenge and its signature",
        );
      if (typeof body.removalDigest !== "string")
        throw InvalidInputError.field("removalDigest", "is required");
      const { holder } = await recordCardPresent(db, actor(request.params.serial, request.id), {
        cardSerial: request.params.serial,
        proof: { certificateChain: chain, challenge: proof.challenge, signature: proof.signature },
        removalDigest: body.removalDigest,
      });
      return reply.code(201).send({ cardSerial: request.params.serial, holder });
    },
  );

  app.post<{ Params: Serial; Body: Record<string, unknown> }>(
    "/api/smartcards/cards/:serial/removal",
    async (request) => {
      const secret = request.body?.removalSecret;
      if (typeof secret !== "string" || secret.length === 0)
        throw InvalidInputError.field("removalSecret", "is required");
      const removed = await recordCardRemoved(db, actor(request.params.serial, request.id), {
        cardSerial: request.params.serial,
        removalSecret: secret,
      });
      return { cardSerial: request.params.serial, sessionsEnded: removed.sessions };
    },
  );
}
