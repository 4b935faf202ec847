import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Method } from "../../assurance/methods.ts";
import { heldMethods } from "../../authenticators/held.ts";
import { issueSmartcardChallenge } from "../../authenticators/smartcard/challenges.ts";
import { verifySmartcardAuthentication } from "../../authenticators/smartcard/verification.ts";
import { DomainError } from "../../errors.ts";
import { redeemTicket } from "../smartcard-tls.ts";
import { usableMethods } from "./complete.ts";
import {
  acceptedMethods,
  type Form,
  type Interaction,
  identifiedIfAny,
  interactionFor,
  journeyActor,
  type Params,
  page,
  renderPage,
  type SignInContext,
} from "./journey.ts";
import { signedIn } from "./signed-in.ts";

/**
 * A smartcard, two ways: the card signs this interaction's challenge through the workstation's
 * agent, or it proves its key in a TLS handshake on the mutual-TLS listener, which sends the
 * browser back with a one-use ticket. Either way who holds the card is who signs in.
 */
export function smartcard(app: FastifyInstance, context: SignInContext): void {
  const { db, base } = context;
  app.get<{ Params: Params }>(`${base}/:uid/smartcard`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    return showSmartcard(context, request, reply, interaction);
  });

  /** The card signed this interaction's challenge through the agent: who holds it is who signs in. */
  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/smartcard`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const identified = identifiedIfAny(interaction);
    const challenge = (interaction.result as { smartcardChallenge?: string } | undefined)?.smartcardChallenge;
    const verified = await verifySmartcardAuthentication(db, journeyActor(interaction, identified), {
      certificateChain: [request.body?.certificate ?? ""],
      challenge: challenge ?? "",
      signature: request.body?.signature ?? "",
      expectedHolder: identified,
    });
    if (!verified.ok) return showSmartcard(context, request, reply, interaction, verified.message);
    return finishSmartcard(context, request, reply, interaction, verified.holder, "CIS2_SMARTCARD");
  });

  /** Back from the mutual-TLS listener with its one-use ticket for this interaction. */
  app.get<{ Params: Params; Querystring: Form }>(`${base}/:uid/smartcard-tls`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    let holder: string;
    try {
      ({ holder } = await redeemTicket(db, interaction.uid, request.query?.ticket ?? ""));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return showSmartcard(context, request, reply, interaction, error.message);
    }
    const identified = identifiedIfAny(interaction);
    if (identified && identified !== holder)
      return showSmartcard(context, request, reply, interaction, "This smartcard belongs to someone else");
    return finishSmartcard(context, request, reply, interaction, holder, "N3_SMARTCARD");
  });
}

/** Each showing issues a new one-use challenge, kept in the interaction, for the card to sign. */
async function showSmartcard(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  error?: string,
) {
  const uuid = identifiedIfAny(interaction);
  const { challenge } = await issueSmartcardChallenge(context.db);
  await context
    .provider()
    .interactionResult(
      request.raw,
      reply.raw,
      { ...interaction.result, smartcardChallenge: challenge },
      { mergeWithLastSubmission: false },
    );
  const acceptsTls = acceptedMethods(context, interaction).includes("N3_SMARTCARD");
  return renderPage(
    reply,
    "smartcard.njk",
    page(interaction, "Sign in with your smartcard", {
      uuid,
      identified: Boolean(uuid),
      challenge,
      agentUrl: context.smartcard.agentUrl,
      tlsUrl: acceptsTls ? context.smartcard.tlsUrl : undefined,
      error,
    }),
    error ? 400 : 200,
  );
}

async function finishSmartcard(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  holder: string,
  method: Method,
) {
  const { db, developmentLogin } = context;
  const usable = usableMethods(
    interaction,
    await heldMethods(db, holder, developmentLogin),
    developmentLogin,
  );
  if (!usable.includes(method))
    return showSmartcard(
      context,
      request,
      reply,
      interaction,
      `The service you are signing in to does not accept this way of using a smartcard`,
    );
  return signedIn(context, request, reply, interaction, { uuid: holder, method });
}
