import type { FastifyInstance, FastifyRequest } from "fastify";
import { ForbiddenError, InvalidInputError } from "../../errors.ts";
import type { Queryable } from "../../store/database.ts";
import type { CardSettings } from "./cards.ts";
import { clearCard } from "./clear.ts";
import { releaseForOrder } from "./order-release.ts";
import { releaseForReissue } from "./reissue.ts";
import { repairCard } from "./repair.ts";

/**
 * The agent's calls for repairing and clearing a card, and for issuing a cleared one afresh
 * (docs/smartcard-agent-protocol.md). Each carries the RA's order code. The unlock code is released only to a program: a browser always
 * sends Origin on a POST, so a request with one is refused and no page can be handed the code.
 */
export function registerCardLifeApi(
  app: FastifyInstance,
  queryable: Queryable,
  settings: CardSettings,
): void {
  const agentOnly = (request: FastifyRequest) => {
    if (request.headers.origin !== undefined)
      throw new ForbiddenError("Only the smartcard agent may repair or clear a card, never a web page");
    const body = request.body;
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw InvalidInputError.field("body", "must be a JSON object");
    return body as Record<string, unknown>;
  };
  const secret = { "cache-control": "no-store" };

  for (const kind of ["repair", "clear"] as const)
    app.post(`/api/smartcards/${kind}/release`, async (request, reply) => {
      const body = agentOnly(request);
      const released = await releaseForOrder(queryable, settings.sealer, kind, {
        orderCode: body.orderCode,
        cardSerial: body.cardSerial,
      });
      return reply.headers(secret).send(released);
    });

  app.post("/api/smartcards/issue/release", async (request, reply) => {
    const body = agentOnly(request);
    const released = await releaseForReissue(queryable, settings.sealer, {
      orderCode: body.orderCode,
      cardSerial: body.cardSerial,
    });
    return reply.headers(secret).send(released);
  });

  app.post("/api/smartcards/repair", async (request, reply) => {
    const body = agentOnly(request);
    const repaired = await repairCard(queryable, settings, {
      orderCode: body.orderCode,
      cardSerial: body.cardSerial,
      authenticationCsr: body.authenticationCsr,
      signingCsr: body.signingCsr,
      presenceKey: body.presenceKey,
    });
    return reply.headers(secret).send(repaired);
  });

  app.post("/api/smartcards/clear", async (request) => {
    const body = agentOnly(request);
    return clearCard(queryable, { orderCode: body.orderCode, cardSerial: body.cardSerial });
  });
}
