import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  acceptsSmartcard,
  type Interaction,
  interactionFor,
  type Params,
  page,
  renderPage,
  type SignInContext,
} from "./journey.ts";
import { choosingRole, showRoles } from "./select-role.ts";

/**
 * The interaction's own address, where oidc-provider sends the browser: the prompt it asks for
 * decides the step. Login starts at identify (or the sandbox's chooser), or shows the role page
 * once someone has signed in with it; select_role shows the role page; consent is pre-approved in
 * CIS2, so finishing the interaction lets the grant be made.
 */
export function interactionPrompt(app: FastifyInstance, context: SignInContext): void {
  app.get<{ Params: Params }>(`${context.base}/:uid`, async (request, reply) =>
    showInteraction(context, request, reply, await interactionFor(context.provider(), request, reply)),
  );
}

/** The page of the interaction's step; also the answer to an authorization request (first-page-in-place.ts). */
export async function showInteraction(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
) {
  const prompt = interaction.prompt.name;
  const choosing = choosingRole(interaction);
  if (choosing) return showRoles(context, request, reply, interaction, choosing);
  if (prompt === "login" && context.chooserPath)
    return reply.redirect(context.chooserPath(interaction.uid), 303);
  if (prompt === "login")
    return renderPage(
      reply,
      "identify.njk",
      page(interaction, "Sign in with your Care Identity", {
        smartcard: acceptsSmartcard(context, interaction),
      }),
    );
  return reply.redirect(
    await context.provider().interactionResult(request.raw, reply.raw, { consent: {} }),
    303,
  );
}
