import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { giveBack, signInCounters, takeAttempt } from "../../authenticators/throttle.ts";
import {
  authenticationOptions,
  unregisteredSecurityKey,
  verifyAssertion,
} from "../../authenticators/webauthn/authentication.ts";
import { relyingPartyFor } from "../../authenticators/webauthn/relying-party.ts";
import { handOver, recordAuthentication } from "./complete.ts";
import {
  everyLimit,
  type Form,
  type Interaction,
  interactionFor,
  journeyActor,
  type Params,
  page,
  personActor,
  rawOf,
  renderPage,
  type SignInContext,
  signingInOf,
  tooManyAttempts,
  usableFor,
  webauthnMethods,
} from "./journey.ts";

/** Security keys, Windows Hello, iPads and passkeys: one WebAuthn ceremony for them all. */
export function securityKey(app: FastifyInstance, context: SignInContext): void {
  const { db, base } = context;
  app.get<{ Params: Params }>(`${base}/:uid/security-key`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    return showSecurityKey(context, request, reply, interaction);
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/security-key`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const signingIn = signingInOf(interaction);
    const { uuid } = signingIn;
    const attempt = await takeAttempt(
      db,
      journeyActor(interaction, uuid),
      signInCounters.securityKey(signingIn.account, request.ip),
    );
    if (!attempt.allowed) return tooManyAttempts(context, reply, interaction, attempt, "security-key");
    if (!uuid) return showSecurityKey(context, request, reply, interaction, unregisteredSecurityKey);
    const challenge = (interaction.result as { webauthnChallenge?: string } | undefined)?.webauthnChallenge;
    const { developmentLogin } = context;
    // The key's counter, the attempt given back and the sign-in's record commit together.
    const outcome = await verifyAssertion(
      db,
      personActor(interaction, uuid),
      relyingPartyFor(context.provider().issuer),
      {
        uuid,
        methods: (await usableFor(context, interaction)).filter((method) => webauthnMethods.includes(method)),
        challenge,
        responseJson: request.body?.response ?? "",
      },
      async (tx, method) => {
        await giveBack(tx, attempt.counted, everyLimit);
        await recordAuthentication(tx, interaction, { uuid, method, developmentLogin });
      },
    );
    if (!outcome.accepted) return showSecurityKey(context, request, reply, interaction, outcome.message);
    const location = await handOver(context.provider(), rawOf(request, reply), interaction, {
      uuid,
      method: outcome.method,
      developmentLogin,
    });
    return reply.redirect(location, 303);
  });
}

/** Each showing issues a new challenge, kept in the interaction: an assertion made for another sign-in fails. */
async function showSecurityKey(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  error?: string,
) {
  const { identifier, account } = signingInOf(interaction);
  const usable = (await usableFor(context, interaction)).filter((method) => webauthnMethods.includes(method));
  const options = await authenticationOptions(
    context.db,
    relyingPartyFor(context.provider().issuer),
    account.key,
    usable,
  );
  await context
    .provider()
    .interactionResult(
      request.raw,
      reply.raw,
      { ...interaction.result, webauthnChallenge: options.challenge },
      { mergeWithLastSubmission: false },
    );
  return renderPage(
    reply,
    "security-key.njk",
    page(interaction, "Use your security key", { identifier, options: JSON.stringify(options), error }),
    error ? 400 : 200,
  );
}
