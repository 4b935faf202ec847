import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { unlockAuthenticatorApp } from "../authenticators.ts";
import { profilePart } from "../profiles.ts";
import { orderCard, orderKinds, withdrawals, withdrawHeldCard } from "../smartcards.ts";
import type { CimApiContext } from "./plugin.ts";
import { ActionBody, commonOf, Reasoned, Uuid, UuidParams } from "./schemas.ts";

const tags = ["Smartcards"];
const CardSerial = Type.String({
  pattern: "^[A-Za-z0-9._-]{1,32}$",
  description: "A smartcard's serial number",
});
const CardParams = Type.Object({ uuid: Uuid, cardSerial: CardSerial });
const OrderRequest = ActionBody({
  kind: Type.Union(orderKinds.map((kind) => Type.Literal(kind))),
  cardSerial: Type.Optional(CardSerial),
});
const Withdrawal = ActionBody({
  status: Type.Union(withdrawals.map((status) => Type.Literal(status))),
  reason: Type.String({ minLength: 1, maxLength: 1000 }),
});

/** A person's smartcards, orders for the workstation agent, withdrawals; unlocking an authenticator app. */
export function registerSmartcardRoutes(api: FastifyInstance, { db, actorOf }: CimApiContext): void {
  api.get<{ Params: Static<typeof UuidParams> }>(
    "/profiles/:uuid/smartcards",
    { schema: { tags, summary: "A person's smartcards: serial, status, expiry", params: UuidParams } },
    async (request) => profilePart(db, actorOf(request).id, request.params.uuid, "smartcards"),
  );
  api.post<{ Params: Static<typeof UuidParams>; Body: Static<typeof OrderRequest> }>(
    "/profiles/:uuid/smartcards/orders",
    {
      schema: {
        tags,
        summary:
          "Order a card to be issued, renewed, unlocked, repaired or cleared (a clear needs a reason): the one-time code, for the agent, is in this answer only",
        params: UuidParams,
        body: OrderRequest,
      },
    },
    async (request, reply) => {
      const order = await orderCard(db, actorOf(request), {
        ...commonOf(request, request.body),
        kind: request.body.kind,
        uuid: request.params.uuid,
        cardSerial: request.body.cardSerial,
      });
      return reply.code(201).header("cache-control", "no-store").send(order);
    },
  );
  api.post<{ Params: Static<typeof CardParams>; Body: Static<typeof Withdrawal> }>(
    "/profiles/:uuid/smartcards/:cardSerial/withdraw",
    {
      schema: {
        tags,
        summary: "Cancel a card or report it lost or stolen (reason required): its certificates are revoked",
        params: CardParams,
        body: Withdrawal,
      },
    },
    async (request) =>
      withdrawHeldCard(db, actorOf(request), {
        ...commonOf(request, request.body),
        uuid: request.params.uuid,
        cardSerial: request.params.cardSerial,
        status: request.body.status,
      }),
  );
  api.post<{ Params: Static<typeof UuidParams>; Body: Static<typeof Reasoned> }>(
    "/profiles/:uuid/authenticators/authenticator-app/unlock",
    {
      schema: {
        tags: ["Authenticators"],
        summary: "Unlock a person's locked authenticator app",
        params: UuidParams,
        body: Reasoned,
      },
    },
    async (request) =>
      unlockAuthenticatorApp(db, actorOf(request), {
        ...commonOf(request, request.body),
        uuid: request.params.uuid,
      }),
  );
}
