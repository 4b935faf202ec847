import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { authenticatorApp } from "./authenticator-app.ts";
import { cancel } from "./cancel.ts";
import { identify } from "./identify.ts";
import type { Interaction, SignInContext } from "./journey.ts";
import { methodChoice } from "./method.ts";
import { password } from "./password.ts";
import { interactionPrompt, showInteraction } from "./prompt.ts";
import { securityKey } from "./security-key.ts";
import { roleSelection } from "./select-role.ts";
import { smartcard } from "./smartcard.ts";

export type { SmartcardSignIn } from "./journey.ts";

/**
 * The sign-in journey, step by step: the interaction's prompt decides where to start; the person
 * says who they are, chooses a method if several are usable, proves it with an authenticator
 * they hold that the request accepts, and (with scope selectedrole) chooses a role; or cancels.
 * Every authenticator step ends in completeAuthentication (complete.ts), every refusal in
 * refuseSignIn. Each step reads the interaction from its signed cookie; nothing about the user
 * travels in the page. NHS.net Connect's step is in src/cis2/nhs-net-connect/pages.ts.
 */
const steps = [
  interactionPrompt,
  identify,
  methodChoice,
  password,
  authenticatorApp,
  securityKey,
  smartcard,
  roleSelection,
  cancel,
];

/** Registers the steps; returns what shows an interaction's page, for answers made elsewhere. */
export function registerSignInPages(app: FastifyInstance, context: SignInContext) {
  for (const step of steps) step(app, context);
  return (request: FastifyRequest, reply: FastifyReply, interaction: Interaction) =>
    showInteraction(context, request, reply, interaction);
}
