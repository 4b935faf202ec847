import type { IncomingMessage, ServerResponse } from "node:http";
import type Provider from "oidc-provider";
import {
  aalOf,
  classSatisfied,
  defaultAcr,
  type Method,
  methodsAccepted,
  parseAcrValues,
} from "../../assurance/methods.ts";
import type { Actor } from "../../audit/actor.ts";
import { type AuditEvent, recordEvent, recordEvents } from "../../audit/record.ts";
import { type Db, inTransaction } from "../../store/database.ts";

type Interaction = Awaited<ReturnType<Provider["interactionDetails"]>>;
type Raw = { req: IncomingMessage; res: ServerResponse };

/**
 * The assurance classes a sign-in must meet: those requested, else the client's default, else
 * AAL3_ANY. Takes an interaction, or a provider context's `oidc` (the step-up check).
 */
export function requestedClasses(
  request: { params?: Record<string, unknown> },
  developmentLogin: boolean,
): string[] {
  const requested = request.params?.acr_values;
  const { classes } = parseAcrValues(typeof requested === "string" ? requested : undefined, developmentLogin);
  return classes.length > 0 ? classes : [defaultAcr];
}

/** Which of the methods a person holds this sign-in may use, in the order they were requested. */
export function usableMethods(interaction: Interaction, held: Method[], developmentLogin: boolean): Method[] {
  return methodsAccepted(requestedClasses(interaction, developmentLogin)).filter((method) =>
    held.includes(method),
  );
}

type Authentication = { uuid: string; method: Method; developmentLogin: boolean };

/**
 * Every authenticator ends here: the authentication is recorded (method, AAL, class met, time)
 * in the audit log and handed to the OIDC interaction. Returns where to send the browser.
 */
export async function completeAuthentication(
  provider: Provider,
  db: Db,
  raw: Raw,
  interaction: Interaction,
  authentication: Authentication,
): Promise<string> {
  await inTransaction(db, (tx) => recordEvents(tx, [authenticationEvent(interaction, authentication)]));
  return handOver(provider, raw, interaction, authentication);
}

/**
 * The audit record of an authentication: the caller writes it with what the step itself writes
 * (a security key's counter), in one transaction. Refuses a method that does not meet the classes
 * the sign-in asked for.
 */
export function authenticationEvent(interaction: Interaction, authentication: Authentication): AuditEvent {
  return {
    actor: { kind: "person", id: authentication.uuid, source: "CIS2", correlationId: interaction.uid },
    entry: {
      action: "cis2.authenticated",
      subject: { type: "person", id: authentication.uuid },
      after: {
        method: authentication.method,
        aal: aalOf(authentication.method),
        acr: acrMet(interaction, authentication),
        clientId: interaction.params.client_id,
      },
    },
  };
}

/** Hands a recorded authentication to the OIDC interaction; returns where to send the browser. */
export function handOver(
  provider: Provider,
  raw: Raw,
  interaction: Interaction,
  authentication: Authentication,
): Promise<string> {
  const acr = acrMet(interaction, authentication);
  return provider.interactionResult(
    raw.req,
    raw.res,
    { login: { accountId: authentication.uuid, acr, amr: [authentication.method], remember: true } },
    { mergeWithLastSubmission: false },
  );
}

function acrMet(interaction: Interaction, authentication: Authentication): string {
  const classes = requestedClasses(interaction, authentication.developmentLogin);
  const acr = classSatisfied(classes, authentication.method);
  if (!acr) throw new Error(`method ${authentication.method} does not meet ${classes.join(" ")}`);
  return acr;
}

/** Ends the sign-in with an OAuth error for the relying party, recorded in the audit log. */
export async function refuseSignIn(
  provider: Provider,
  db: Db,
  raw: Raw,
  interaction: Interaction,
  refusal: { error: string; description: string; uuid?: string },
): Promise<string> {
  const actor: Actor = {
    kind: refusal.uuid ? "person" : "system",
    id: refusal.uuid ?? "cis2",
    source: "CIS2",
    correlationId: interaction.uid,
  };
  await inTransaction(db, (tx) =>
    recordEvent(tx, actor, {
      action: "cis2.sign-in-refused",
      subject: refusal.uuid ? { type: "person", id: refusal.uuid } : undefined,
      after: {
        error: refusal.error,
        description: refusal.description,
        clientId: interaction.params.client_id,
      },
    }),
  );
  return provider.interactionResult(
    raw.req,
    raw.res,
    { error: refusal.error, error_description: refusal.description },
    { mergeWithLastSubmission: false },
  );
}
