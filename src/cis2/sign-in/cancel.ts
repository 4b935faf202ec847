import type { FastifyInstance } from "fastify";
import { refuseSignIn } from "./complete.ts";
import { interactionFor, type Params, page, rawOf, renderPage, type SignInContext } from "./journey.ts";

/** The person stops: the service hears access_denied when they follow the link back to it. */
export function cancel(app: FastifyInstance, context: SignInContext): void {
  app.get<{ Params: Params }>(`${context.base}/:uid/cancel`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const location = await refuseSignIn(context.provider(), context.db, rawOf(request, reply), interaction, {
      error: "access_denied",
      description: "the user cancelled the sign-in",
    });
    return renderPage(
      reply,
      "cancelled.njk",
      page(interaction, "You cancelled signing in", { returnTo: location }),
    );
  });
}
