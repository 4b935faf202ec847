import type { FastifyReply, FastifyRequest } from "fastify";
import type { Method } from "../../assurance/methods.ts";
import { completeAuthentication } from "./complete.ts";
import { type Interaction, rawOf, type SignInContext } from "./journey.ts";
import { afterSignIn } from "./select-role.ts";

/** The end of every authenticator step: the one completion function, then the role or the relying party. */
export async function signedIn(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  authentication: { uuid: string; method: Method },
) {
  const location = await completeAuthentication(
    context.provider(),
    context.db,
    rawOf(request, reply),
    interaction,
    {
      ...authentication,
      developmentLogin: context.developmentLogin,
    },
  );
  return afterSignIn(context, request, reply, interaction, authentication.uuid, location);
}
