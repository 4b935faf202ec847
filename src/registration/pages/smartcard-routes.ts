import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Withdrawal } from "../../authenticators/smartcard/cards.ts";
import type { OrderKind } from "../../authenticators/smartcard/orders.ts";
import { getPerson } from "../../people/people.ts";
import { forceAppPasswordReset, unlockAuthenticatorApp } from "../authenticators.ts";
import { orderCard, withdrawHeldCard } from "../smartcards.ts";
import { actorOf, type Cim, displayName, renderCimPage } from "./context.ts";
import { actOnForm, commonOf, formOf } from "./form-actions.ts";

const orderTitles: Record<OrderKind, string> = {
  issue: "Card issue order",
  renew: "Card renewal order",
  unlock: "Card unlock order",
  repair: "Card repair order",
  clear: "Card clear order",
};

/** Smartcard orders and withdrawals, and unlocking an authenticator app, from a person's profile. */
export function registerSmartcardRoutes(app: FastifyInstance, cim: Cim): void {
  const uuidOf = (request: FastifyRequest) => (request.params as { uuid: string }).uuid;
  const serialOf = (request: FastifyRequest) => (request.params as { serial: string }).serial;

  // The code is shown on this page only, never in a redirect's address, so no log or history keeps it.
  app.post("/profiles/:uuid/smartcards/orders", async (request, reply) => {
    const form = formOf(request);
    const order = await orderCard(cim.db, actorOf(request), {
      ...commonOf(request),
      kind: form.kind as OrderKind,
      uuid: uuidOf(request),
      cardSerial: form.cardSerial || undefined,
    });
    const person = await getPerson(cim.db, order.holder);
    return renderCimPage(request, reply, "smartcard-order.njk", {
      pageTitle: orderTitles[order.kind],
      person,
      order: { ...order, expiresAt: order.expiresAt.toISOString().slice(0, 16).replace("T", " ") },
    });
  });

  const withdrawing = async (request: FastifyRequest) => {
    const person = await getPerson(cim.db, uuidOf(request));
    return {
      pageTitle: `Withdraw ${displayName(person)}'s card ${serialOf(request)}`,
      person,
      cardSerial: serialOf(request),
    };
  };

  app.get("/profiles/:uuid/smartcards/:serial/withdraw", async (request, reply) =>
    renderCimPage(request, reply, "smartcard-withdraw.njk", { values: {}, ...(await withdrawing(request)) }),
  );

  app.post("/profiles/:uuid/smartcards/:serial/withdraw", async (request, reply) =>
    actOnForm(
      request,
      reply,
      async () => {
        const status = formOf(request).status as Withdrawal;
        await withdrawHeldCard(cim.db, actorOf(request), {
          ...commonOf(request),
          uuid: uuidOf(request),
          cardSerial: serialOf(request),
          status,
        });
        return `/cim/profiles/${uuidOf(request)}?done=card-${status}`;
      },
      {
        view: "smartcard-withdraw.njk",
        context: () => withdrawing(request),
        labels: { status: "What happened to the card:", reason: "Reason" },
      },
    ),
  );

  app.post("/profiles/:uuid/authenticators/authenticator-app/unlock", async (request, reply) => {
    await unlockAuthenticatorApp(cim.db, actorOf(request), { ...commonOf(request), uuid: uuidOf(request) });
    return reply.redirect(`/cim/profiles/${uuidOf(request)}?done=app-unlocked`, 303);
  });

  app.post("/profiles/:uuid/authenticators/authenticator-app/password-reset", async (request, reply) => {
    await forceAppPasswordReset(cim.db, actorOf(request), { ...commonOf(request), uuid: uuidOf(request) });
    return reply.redirect(`/cim/profiles/${uuidOf(request)}?done=password-reset-forced`, 303);
  });
}
