import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { InteractionResults } from "oidc-provider";
import { judgeAttempt, signInCounters } from "../../authenticators/throttle.ts";
import {
  type AssertionOutcome,
  authenticationOptions,
  lockedCredentialRead,
  type OfferedCredential,
  parseAssertion,
  unregisteredSecurityKey,
  verifyAssertion,
} from "../../authenticators/webauthn/authentication.ts";
import { relyingPartyFor } from "../../authenticators/webauthn/relying-party.ts";
import { holdingWrites } from "../authorization-writes.ts";
import { authenticationEvent, handOver } from "./complete.ts";
import {
  acceptedMethods,
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
  type SigningIn,
  signingInOf,
  tooManyAttempts,
  webauthnMethods,
} from "./journey.ts";
import { afterSignIn } from "./select-role.ts";

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
    const challenge = (interaction.result as { webauthnChallenge?: string } | undefined)?.webauthnChallenge;
    const { developmentLogin } = context;
    // The counters, the key's counter, the sign-in's record and its result for the interaction
    // in one transaction: a wrong answer is counted, a right one gives back nothing it needs to.
    let location = "";
    const methods = acceptedWebauthn(context, interaction);
    const response = parseAssertion(request.body?.response ?? "");
    // The key's credential is read and locked with the counters, in their statement.
    const credentialRead = uuid ? lockedCredentialRead(db, uuid, methods, response) : undefined;
    const judged = await judgeAttempt(
      db,
      journeyActor(interaction, uuid),
      signInCounters.securityKey(signingIn.account, request.ip),
      async (tx, locked): Promise<{ right: boolean; answer: AssertionOutcome }> => {
        if (!uuid)
          return {
            right: false,
            answer: { accepted: false, reason: "unknown-credential", message: unregisteredSecurityKey },
          };
        const outcome = await verifyAssertion(
          tx,
          personActor(interaction, uuid),
          relyingPartyFor(context.provider().issuer),
          {
            uuid,
            methods,
            challenge,
            response,
            lockedCredential: credentialRead && { row: locked as never },
          },
          async (method) => {
            const authentication = { uuid, method, developmentLogin };
            const event = authenticationEvent(interaction, authentication);
            const handed = await holdingWrites(() =>
              handOver(context.provider(), rawOf(request, reply), interaction, authentication),
            );
            location = handed.answer;
            return { events: [event, ...handed.events], writes: handed.writes };
          },
        );
        return { right: outcome.accepted, answer: outcome };
      },
      undefined,
      credentialRead,
    );
    if (!judged.allowed) return tooManyAttempts(context, reply, interaction, judged, "security-key");
    const outcome = judged.answer;
    if (!outcome.accepted) return showSecurityKey(context, request, reply, interaction, outcome.message);
    return afterSignIn(context, request, reply, interaction, uuid as string, location);
  });
}

/** The page shown again (a return to it, a wrong answer): the interaction keeps what it holds. */
async function showSecurityKey(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  error?: string,
) {
  const kept = { ...interaction.result, identified: signingInOf(interaction) };
  return askForSecurityKey(context, request, reply, interaction, kept, { error });
}

/**
 * The security-key page. Each showing issues a new challenge, saved with `kept` (who is signing
 * in, and whatever else the interaction is to hold) in the interaction's one write: an assertion
 * made for another sign-in, or for an earlier showing, fails. The identify step answers with this
 * page when the security key is the one way on, so it saves who it identified here.
 */
export async function askForSecurityKey(
  context: SignInContext,
  request: FastifyRequest,
  reply: FastifyReply,
  interaction: Interaction,
  kept: InteractionResults & { identified: SigningIn },
  { error, held }: { error?: string; held?: OfferedCredential[] } = {},
) {
  const { identifier, account } = kept.identified;
  const options = await authenticationOptions(
    context.db,
    relyingPartyFor(context.provider().issuer),
    account.key,
    acceptedWebauthn(context, interaction),
    held,
  );
  await context
    .provider()
    .interactionResult(
      request.raw,
      reply.raw,
      { ...kept, webauthnChallenge: options.challenge },
      { mergeWithLastSubmission: false },
    );
  return renderPage(
    reply,
    "security-key.njk",
    page(interaction, "Use your security key", { identifier, options: JSON.stringify(options), error }),
    error ? 400 : 200,
  );
}

/**
 * The WebAuthn methods this sign-in accepts. The credentials are read by these methods, so what
 * the person holds narrows them there, without reading what they hold first.
 */
function acceptedWebauthn(context: SignInContext, interaction: Interaction) {
  return acceptedMethods(context, interaction).filter((method) => webauthnMethods.includes(method));
}
