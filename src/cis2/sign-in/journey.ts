import { fileURLToPath } from "node:url";
import type { FastifyReply, FastifyRequest } from "fastify";
import type Provider from "oidc-provider";
import { type Method, methods, methodsAccepted } from "../../assurance/methods.ts";
import { heldMethods } from "../../authenticators/held.ts";
import {
  type Attempt,
  type LimitName,
  type SignInAccount,
  signInLimits,
} from "../../authenticators/throttle.ts";
import { InvalidInputError } from "../../errors.ts";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";
import { pageRenderer } from "../../web/pages.ts";
import { smartcardMethods } from "../smartcard-presence.ts";
import { methodsOfUnknown } from "../unknown-identifiers.ts";
import { requestedClasses, usableMethods } from "./complete.ts";

/**
 * What every step of the sign-in shares: the interaction it reads from its signed cookie, who
 * said they are signing in, the methods this request lets them use, and the page each step
 * renders from its template beside it.
 */

/** The sign-in pages' templates sit beside their steps. */
export const { renderPage } = pageRenderer([fileURLToPath(new URL("./", import.meta.url))]);

export type Params = { uid: string };
export type Form = Record<string, string | undefined>;
export type Interaction = Awaited<ReturnType<Provider["interactionDetails"]>>;

/** Where the holder's smartcard agent listens, and the mutual-TLS listener when there is one. */
export type SmartcardSignIn = { agentUrl: string; tlsUrl?: string };

export type SignInContext = {
  provider: () => Provider;
  db: Db;
  lists: CodeLists;
  developmentLogin: boolean;
  base: string;
  sealer: Sealer;
  smartcard: SmartcardSignIn;
  /** The sandbox's persona chooser, which then stands in for the authenticators (src/sandbox/). */
  chooserPath?: (uid: string) => string;
};

/** The page each method signs in on; WebAuthn methods share one ceremony. */
export const pageOfMethod: Partial<Record<Method, string>> = {
  pwd: "password",
  TOTP: "app",
  FIDO2: "security-key",
  IOS: "security-key",
  PASSKEY: "security-key",
  PASSKEY_SYNCED: "security-key",
  CIS2_SMARTCARD: "smartcard",
  N3_SMARTCARD: "smartcard",
  NHSMAIL: "nhs-net-connect",
};
export const webauthnMethods: Method[] = ["FIDO2", "IOS", "PASSKEY", "PASSKEY_SYNCED"];

/** A right answer gives back what it counted everywhere it was counted. */
export const everyLimit = Object.keys(signInLimits) as LimitName[];

export function rawOf(request: FastifyRequest, reply: FastifyReply) {
  return { req: request.raw, res: reply.raw };
}

export async function interactionFor(
  provider: Provider,
  request: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
): Promise<Interaction> {
  // Made only when needed: an error's stack costs more than the rest of this lookup.
  const expired = () =>
    InvalidInputError.field(
      "interaction",
      "This sign-in has expired or was started in another window. Go back to the service you came from and sign in again.",
    );
  const interaction = await provider
    .interactionDetails(request.raw, reply.raw)
    .catch((error: { name?: string }) => {
      throw error.name === "SessionNotFound" ? expired() : error;
    });
  if (interaction.uid !== request.params.uid) throw expired();
  return interaction;
}

/** The actors of a sign-in's steps, told by its interaction's uid (the audit's correlation id). */
export function personActor(interaction: Pick<Interaction, "uid">, uuid: string) {
  return { kind: "person" as const, id: uuid, source: "CIS2", correlationId: interaction.uid };
}

/** Who is signing in, when they said so before choosing a smartcard (the card may say instead). */
export function identifiedIfAny(interaction: Interaction): string | undefined {
  return (interaction.result as { identified?: { uuid?: string } } | undefined)?.identified?.uuid;
}

export function journeyActor(interaction: Pick<Interaction, "uid">, uuid: string | undefined) {
  return uuid
    ? personActor(interaction, uuid)
    : { kind: "system" as const, id: "cis2", source: "CIS2", correlationId: interaction.uid };
}

/**
 * Who said they are signing in: a person, or an identifier that names no one, answered alike;
 * with how many current positions the person held then (afterSignIn asks for a role when several).
 */
export type SigningIn = { identifier: string; uuid?: string; account: SignInAccount; positions?: number };

export function signingInOf(interaction: Interaction): SigningIn {
  const identified = (interaction.result as { identified?: SigningIn } | undefined)?.identified;
  if (!identified?.account) throw InvalidInputError.field("identifier", "say who you are first");
  return identified;
}

export function acceptedMethods(context: SignInContext, interaction: Interaction): Method[] {
  return methodsAccepted(requestedClasses(interaction, context.developmentLogin));
}

export function acceptsSmartcard(context: SignInContext, interaction: Interaction): boolean {
  return acceptedMethods(context, interaction).some((method) => smartcardMethods.includes(method));
}

/** The methods the one signing in holds that this sign-in accepts (an unknown identifier's, alike). */
export async function usableFor(context: SignInContext, interaction: Interaction): Promise<Method[]> {
  const { developmentLogin } = context;
  const { uuid, account } = signingInOf(interaction);
  const held = await heldMethods(context.db, account.key, developmentLogin);
  return usableMethods(interaction, uuid ? held : methodsOfUnknown(developmentLogin), developmentLogin);
}

/** 429 in the design system, with Retry-After and the time to try again at. */
export function tooManyAttempts(
  context: SignInContext,
  reply: FastifyReply,
  interaction: Interaction,
  refusal: Extract<Attempt, { allowed: false }>,
  step: string,
) {
  const minutes = Math.ceil(refusal.retryAfterSeconds / 60);
  reply.header("retry-after", String(refusal.retryAfterSeconds));
  return renderPage(
    reply,
    "too-many-attempts.njk",
    page(interaction, "You have tried to sign in too many times", {
      retryAtText: `${refusal.retryAt.toISOString().slice(11, 16)} UTC${refusal.retryAfterSeconds > 43_200 ? ` on ${refusal.retryAt.toISOString().slice(0, 10)}` : ""}`,
      waitText:
        refusal.retryAfterSeconds < 60
          ? `${refusal.retryAfterSeconds} seconds`
          : `${minutes} minute${minutes === 1 ? "" : "s"}`,
      dailyCap: refusal.limit === "guessesPerAccountPerDay",
      retryPath: `${context.base}/${interaction.uid}${step ? `/${step}` : ""}`,
    }),
    429,
  );
}

/** What every sign-in page is given: its title, the interaction, and its errors as the summary lists them. */
export function page(interaction: Interaction, pageTitle: string, extra: Record<string, unknown> = {}) {
  const error = extra.error as string | undefined;
  const errors = extra.errors as { field: string; text: string }[] | undefined;
  return {
    pageTitle,
    uid: interaction.uid,
    clientId: interaction.params.client_id,
    methods,
    errorList: errors
      ? errors.map((problem) => ({ text: problem.text, href: `#${problem.field}` }))
      : error
        ? [{ text: error, href: "#main-field" }]
        : undefined,
    fieldErrors: Object.fromEntries((errors ?? []).map((problem) => [problem.field, { text: problem.text }])),
    ...extra,
  };
}
