import type { FastifyInstance, FastifyRequest } from "fastify";
import { NotFoundError } from "../../errors.ts";
import { getPerson } from "../../people/people.ts";
import { authorise } from "../../ra-policy/policy.ts";
import { cardsOf, orderCard } from "../smartcards.ts";
import { actorOf, type Cim, displayName, renderCimPage, signedIn } from "./context.ts";
import { commonOf, showFormProblems } from "./form-actions.ts";

/**
 * Repairing and clearing a card from its holder's profile: a confirmation page naming the card
 * and what will happen, then the order for the workstation agent (orderCard, as the CIM API
 * uses), shown once with what happens next. The RA policy decides both; the order is audited.
 */
const kinds = ["repair", "clear"] as const;
type Kind = (typeof kinds)[number];
const titles: Record<Kind, string> = { repair: "Repair card", clear: "Clear card" };

export function registerCardLifeRoutes(app: FastifyInstance, cim: Cim): void {
  const confirmation = async (request: FastifyRequest, kind: Kind) => {
    const { uuid, serial } = request.params as { uuid: string; serial: string };
    await authorise(cim.db, signedIn(request).person.uuid, `smartcard.${kind}`, { uuid });
    const card = (await cardsOf(cim.db, uuid)).find((held) => held.cardSerial === serial);
    if (!card) throw new NotFoundError("smartcard", `${uuid} holds no card ${serial}`);
    const person = await getPerson(cim.db, uuid);
    const holderName = displayName(person);
    return { pageTitle: `${titles[kind]} ${serial}`, kind, person, holderName, card };
  };

  for (const kind of kinds) {
    const path = `/profiles/:uuid/smartcards/:serial/${kind}`;
    app.get(path, async (request, reply) =>
      renderCimPage(request, reply, "smartcard-card-life.njk", {
        values: {},
        ...(await confirmation(request, kind)),
      }),
    );

    // The code is shown on this page only, never in a redirect's address, so no log or history keeps it.
    app.post(path, async (request, reply) => {
      const { uuid, serial } = request.params as { uuid: string; serial: string };
      try {
        const order = await orderCard(cim.db, actorOf(request), {
          ...commonOf(request),
          kind,
          uuid,
          cardSerial: serial,
        });
        const person = await getPerson(cim.db, uuid);
        return renderCimPage(request, reply, "smartcard-order.njk", {
          pageTitle: `${kind === "repair" ? "Repair" : "Clear"} order for card ${serial}`,
          person,
          holderName: displayName(person),
          order: { ...order, expiresAt: order.expiresAt.toISOString().slice(0, 16).replace("T", " ") },
        });
      } catch (error) {
        return showFormProblems(request, reply, error, {
          view: "smartcard-card-life.njk",
          context: () => confirmation(request, kind),
          labels: { reason: "Reason" },
        });
      }
    });
  }
}
