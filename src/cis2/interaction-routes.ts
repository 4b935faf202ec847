import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import type Provider from "oidc-provider";
import { recordEvent } from "../audit/record.ts";
import { heldMethods } from "../authenticators/held.ts";
import { checkPassword } from "../authenticators/password/passwords.ts";
import { issueSmartcardChallenge } from "../authenticators/smartcard/challenges.ts";
import { verifySmartcardAuthentication } from "../authenticators/smartcard/verification.ts";
import { checkTotpSignIn } from "../authenticators/totp/app-authenticators.ts";
import { authenticationOptions, verifyAssertion } from "../authenticators/webauthn/authentication.ts";
import { relyingPartyFor } from "../authenticators/webauthn/relying-party.ts";
import { DomainError, InvalidInputError } from "../errors.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import type { Sealer } from "../secrets/sealed.ts";
import { type Db, inTransaction } from "../store/database.ts";
import { isCareIdentifier } from "../store/identifiers.ts";
import { renderPage } from "../web/pages.ts";
import { type Method, methods, methodsAccepted } from "./assurance.ts";
import { positionsInRequest, selectRole } from "./role-selection.ts";
import { completeAuthentication, refuseSignIn, requestedClasses, usableMethods } from "./sign-in.ts";
import { smartcardMethods } from "./smartcard-presence.ts";
import { redeemTicket } from "./smartcard-tls.ts";

type Params = { uid: string };
type Form = Record<string, string | undefined>;
type Context = {
  provider: () => Provider;
  db: Db;
  lists: CodeLists;
  developmentLogin: boolean;
  base: string;
  sealer: Sealer;
  smartcard: SmartcardSignIn;
};

/** Where the holder's smartcard agent listens, and the mutual-TLS listener when there is one. */
export type SmartcardSignIn = { agentUrl: string; tlsUrl?: string };

/** The page each method signs in on; WebAuthn methods share one ceremony. */
const pageOfMethod: Partial<Record<Method, string>> = {
  pwd: "password",
  TOTP: "app",
  FIDO2: "security-key",
  IOS: "security-key",
  PASSKEY: "security-key",
  PASSKEY_SYNCED: "security-key",
  CIS2_SMARTCARD: "smartcard",
  N3_SMARTCARD: "smartcard",
};
const webauthnMethods: Method[] = ["FIDO2", "IOS", "PASSKEY", "PASSKEY_SYNCED"];

/**
 * The sign-in journey's pages: identify yourself, use an authenticator you hold that the
 * request accepts, then (with scope selectedrole) choose a role. Each step reads the interaction
 * from its signed cookie; nothing about the user travels in the page.
 */
export function registerSignInPages(app: FastifyInstance, context: Context): void {
  const { db, lists, developmentLogin, base } = context;
  const raw = (request: FastifyRequest, reply: FastifyReply) => ({ req: request.raw, res: reply.raw });

  app.get<{ Params: Params }>(`${base}/:uid`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const prompt = interaction.prompt.name;
    if (prompt === "select_role") return showRoles(request, reply, interaction);
    if (prompt === "login")
      return renderPage(
        reply,
        "cis2/identify.njk",
        page(interaction, "Sign in with your Care Identity", { smartcard: acceptsSmartcard(interaction) }),
      );
    // Consent is pre-approved in CIS2: finishing the interaction lets the grant be made.
    return reply.redirect(
      await context.provider().interactionResult(request.raw, reply.raw, { consent: {} }),
      303,
    );
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/identify`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const identifier = (request.body?.identifier ?? "").trim();
    const person = await findPerson(db, identifier);
    if (!person) {
      return renderPage(
        reply,
        "cis2/identify.njk",
        page(interaction, "Sign in with your Care Identity", {
          smartcard: acceptsSmartcard(interaction),
          identifier,
          error: "Enter the 12-digit UUID or email address of an active Care Identity",
        }),
        400,
      );
    }
    const usable = usableMethods(
      interaction,
      await heldMethods(db, person.uuid, developmentLogin),
      developmentLogin,
    );
    if (usable.length === 0) {
      const location = await refuseSignIn(context.provider(), db, raw(request, reply), interaction, {
        error: "access_denied",
        description:
          "the requested authentication assurance cannot be met by an authenticator this user holds",
        uuid: person.uuid,
      });
      return reply.redirect(location, 303);
    }
    await context
      .provider()
      .interactionResult(
        request.raw,
        reply.raw,
        { identified: { uuid: person.uuid } },
        { mergeWithLastSubmission: true },
      );
    const next = usable.length === 1 && usable[0] ? pageOfMethod[usable[0]] : "method";
    return reply.redirect(`${base}/${interaction.uid}/${next}`, 303);
  });

  /** Several usable methods: the person chooses; only methods this sign-in accepts are listed. */
  app.get<{ Params: Params }>(`${base}/:uid/method`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    return showMethods(reply, interaction);
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/method`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const usable = await usableFor(interaction);
    const chosen = usable.find((method) => method === request.body?.method);
    if (!chosen) return showMethods(reply, interaction, "Choose how you want to sign in");
    return reply.redirect(`${base}/${interaction.uid}/${pageOfMethod[chosen]}`, 303);
  });

  app.get<{ Params: Params }>(`${base}/:uid/app`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const uuid = identifiedUuid(interaction);
    return renderPage(reply, "cis2/app.njk", page(interaction, "Use your authenticator app", { uuid }));
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/app`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const uuid = identifiedUuid(interaction);
    if (!(await usableFor(interaction)).includes("TOTP")) {
      // Only a hand-made request gets here: the pages never offer a method the sign-in refuses.
      await inTransaction(db, (tx) =>
        recordEvent(tx, personActor(interaction, uuid), {
          action: "cis2.method-refused",
          subject: { type: "person", id: uuid },
          after: { method: "TOTP", clientId: interaction.params.client_id },
        }),
      );
      throw InvalidInputError.field(
        "method",
        "The service you are signing in to needs a stronger authenticator than the authenticator app.",
      );
    }
    const outcome = await checkTotpSignIn(db, context.sealer, personActor(interaction, uuid), {
      uuid,
      password: request.body?.password ?? "",
      code: request.body?.code ?? "",
    });
    if (!outcome.accepted)
      return renderPage(
        reply,
        "cis2/app.njk",
        page(interaction, "Use your authenticator app", { uuid, error: outcome.message }),
        400,
      );
    const location = await completeAuthentication(context.provider(), db, raw(request, reply), interaction, {
      uuid,
      method: "TOTP",
      developmentLogin,
    });
    return reply.redirect(location, 303);
  });

  app.get<{ Params: Params }>(`${base}/:uid/security-key`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    return showSecurityKey(request, reply, interaction);
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/security-key`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const uuid = identifiedUuid(interaction);
    const challenge = (interaction.result as { webauthnChallenge?: string } | undefined)?.webauthnChallenge;
    const outcome = await verifyAssertion(
      db,
      personActor(interaction, uuid),
      relyingPartyFor(context.provider().issuer),
      {
        uuid,
        methods: (await usableFor(interaction)).filter((method) => webauthnMethods.includes(method)),
        challenge,
        responseJson: request.body?.response ?? "",
      },
    );
    if (!outcome.accepted) return showSecurityKey(request, reply, interaction, outcome.message);
    const location = await completeAuthentication(context.provider(), db, raw(request, reply), interaction, {
      uuid,
      method: outcome.method,
      developmentLogin,
    });
    return reply.redirect(location, 303);
  });

  app.get<{ Params: Params }>(`${base}/:uid/smartcard`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    return showSmartcard(request, reply, interaction);
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
    if (!verified.ok) return showSmartcard(request, reply, interaction, verified.message);
    return finishSmartcard(request, reply, interaction, verified.holder, "CIS2_SMARTCARD");
  });

  /** Back from the mutual-TLS listener with its one-use ticket for this interaction. */
  app.get<{ Params: Params; Querystring: Form }>(`${base}/:uid/smartcard-tls`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    let holder: string;
    try {
      ({ holder } = await redeemTicket(db, interaction.uid, request.query?.ticket ?? ""));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return showSmartcard(request, reply, interaction, error.message);
    }
    const identified = identifiedIfAny(interaction);
    if (identified && identified !== holder)
      return showSmartcard(request, reply, interaction, "This smartcard belongs to someone else");
    return finishSmartcard(request, reply, interaction, holder, "N3_SMARTCARD");
  });

  app.get<{ Params: Params }>(`${base}/:uid/password`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const uuid = identifiedUuid(interaction);
    return renderPage(reply, "cis2/password.njk", page(interaction, "Enter your password", { uuid }));
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/password`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const uuid = identifiedUuid(interaction);
    const allowed = usableMethods(
      interaction,
      await heldMethods(db, uuid, developmentLogin),
      developmentLogin,
    );
    if (!allowed.includes("pwd") || !(await checkPassword(db, uuid, request.body?.password ?? ""))) {
      return renderPage(
        reply,
        "cis2/password.njk",
        page(interaction, "Enter your password", { uuid, error: "The password is not correct" }),
        400,
      );
    }
    const location = await completeAuthentication(context.provider(), db, raw(request, reply), interaction, {
      uuid,
      method: "pwd",
      developmentLogin,
    });
    return reply.redirect(location, 303);
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/role`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    if (interaction.prompt.name !== "select_role" || !interaction.session)
      throw InvalidInputError.field("role", "no role is being chosen");
    try {
      await chooseRole(interaction, request.body?.role ?? "");
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return showRoles(request, reply, interaction, error.problems[0]?.message);
    }
    return reply.redirect(
      await context.provider().interactionResult(request.raw, reply.raw, { select_role: {} }),
      303,
    );
  });

  app.get<{ Params: Params }>(`${base}/:uid/cancel`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const location = await refuseSignIn(context.provider(), db, raw(request, reply), interaction, {
      error: "access_denied",
      description: "the user cancelled the sign-in",
    });
    return reply.redirect(location, 303);
  });

  function acceptedMethods(interaction: Interaction): Method[] {
    return methodsAccepted(requestedClasses(interaction, developmentLogin));
  }

  function acceptsSmartcard(interaction: Interaction): boolean {
    return acceptedMethods(interaction).some((method) => smartcardMethods.includes(method));
  }

  /** Each showing issues a new one-use challenge, kept in the interaction, for the card to sign. */
  async function showSmartcard(
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    error?: string,
  ) {
    const uuid = identifiedIfAny(interaction);
    const { challenge } = await issueSmartcardChallenge(db);
    await context
      .provider()
      .interactionResult(
        request.raw,
        reply.raw,
        { ...interaction.result, smartcardChallenge: challenge },
        { mergeWithLastSubmission: false },
      );
    const acceptsTls = acceptedMethods(interaction).includes("N3_SMARTCARD");
    return renderPage(
      reply,
      "cis2/smartcard.njk",
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
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    holder: string,
    method: Method,
  ) {
    const usable = usableMethods(
      interaction,
      await heldMethods(db, holder, developmentLogin),
      developmentLogin,
    );
    if (!usable.includes(method))
      return showSmartcard(
        request,
        reply,
        interaction,
        `The service you are signing in to does not accept this way of using a smartcard`,
      );
    const location = await completeAuthentication(context.provider(), db, raw(request, reply), interaction, {
      uuid: holder,
      method,
      developmentLogin,
    });
    return reply.redirect(location, 303);
  }

  async function usableFor(interaction: Interaction): Promise<Method[]> {
    return usableMethods(
      interaction,
      await heldMethods(db, identifiedUuid(interaction), developmentLogin),
      developmentLogin,
    );
  }

  async function showMethods(reply: FastifyReply, interaction: Interaction, error?: string) {
    const items = (await usableFor(interaction)).map((method) => ({
      value: method,
      text: methods[method].label,
    }));
    return renderPage(
      reply,
      "cis2/method.njk",
      page(interaction, "How do you want to sign in?", { items, error }),
      error ? 400 : 200,
    );
  }

  /** Each showing issues a new challenge, kept in the interaction: an assertion made for another sign-in fails. */
  async function showSecurityKey(
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    error?: string,
  ) {
    const uuid = identifiedUuid(interaction);
    const usable = (await usableFor(interaction)).filter((method) => webauthnMethods.includes(method));
    const options = await authenticationOptions(db, relyingPartyFor(context.provider().issuer), uuid, usable);
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
      "cis2/security-key.njk",
      page(interaction, "Use your security key", { uuid, options: JSON.stringify(options), error }),
      error ? 400 : 200,
    );
  }

  async function chooseRole(interaction: Interaction, roleProfileId: string) {
    const session = interaction.session;
    if (!session?.accountId) throw InvalidInputError.field("role", "sign in first");
    await selectRole(
      db,
      { kind: "person", id: session.accountId, source: "CIS2", correlationId: interaction.uid },
      lists,
      {
        sessionUid: session.uid,
        uuid: session.accountId,
        roleProfileId,
      },
    );
  }

  async function showRoles(
    request: FastifyRequest,
    reply: FastifyReply,
    interaction: Interaction,
    error?: string,
  ) {
    const uuid = interaction.session?.accountId as string;
    const positions = await positionsInRequest(db, lists, uuid);
    if (positions.length === 1 && positions[0]) {
      await chooseRole(interaction, positions[0].roleProfileId);
      return reply.redirect(
        await context.provider().interactionResult(request.raw, reply.raw, { select_role: {} }),
        303,
      );
    }
    const search = String((request.query as Form)?.search ?? "")
      .trim()
      .toLowerCase();
    const shown = search
      ? positions.filter((position) =>
          `${position.jobRole.jobRoleName} ${position.organisationName} ${position.odsCode} ${position.workgroups.map((workgroup) => workgroup.name).join(" ")}`
            .toLowerCase()
            .includes(search),
        )
      : positions;
    return renderPage(
      reply,
      "cis2/select-role.njk",
      page(interaction, "Select your role", {
        items: shown.map((position) => ({
          value: position.roleProfileId,
          text: `${position.jobRole.jobRoleName} at ${position.organisationName} (${position.odsCode})`,
          hint: {
            text: [
              position.workgroups.length > 0
                ? `Workgroups: ${position.workgroups.map((workgroup) => workgroup.name).join(", ")}.`
                : "",
              `Role ID ${position.roleProfileId}`,
            ]
              .join(" ")
              .trim(),
          },
        })),
        total: positions.length,
        searchable: positions.length > 5,
        search,
        error,
      }),
      error ? 400 : 200,
    );
  }
}

type Interaction = Awaited<ReturnType<Provider["interactionDetails"]>>;

async function interactionFor(
  provider: Provider,
  request: FastifyRequest<{ Params: Params }>,
  reply: FastifyReply,
): Promise<Interaction> {
  const expired = InvalidInputError.field(
    "interaction",
    "This sign-in has expired or was started in another window. Go back to the service you came from and sign in again.",
  );
  const interaction = await provider
    .interactionDetails(request.raw, reply.raw)
    .catch((error: { name?: string }) => {
      throw error.name === "SessionNotFound" ? expired : error;
    });
  if (interaction.uid !== request.params.uid) throw expired;
  return interaction;
}

function personActor(interaction: Interaction, uuid: string) {
  return { kind: "person" as const, id: uuid, source: "CIS2", correlationId: interaction.uid };
}

/** Who is signing in, when they said so before choosing a smartcard (the card may say instead). */
function identifiedIfAny(interaction: Interaction): string | undefined {
  return (interaction.result as { identified?: { uuid?: string } } | undefined)?.identified?.uuid;
}

function journeyActor(interaction: Interaction, uuid: string | undefined) {
  return uuid
    ? personActor(interaction, uuid)
    : { kind: "system" as const, id: "cis2", source: "CIS2", correlationId: interaction.uid };
}

function identifiedUuid(interaction: Interaction): string {
  const uuid = identifiedIfAny(interaction);
  if (!uuid) throw InvalidInputError.field("identifier", "say who you are first");
  return uuid;
}

async function findPerson(db: Db, identifier: string) {
  if (!identifier) return undefined;
  const query = db.selectFrom("people").select(["uuid", "status"]).where("status", "=", "active");
  return isCareIdentifier(identifier)
    ? query.where("uuid", "=", identifier).executeTakeFirst()
    : query.where(sql<string>`lower(email)`, "=", identifier.toLowerCase()).executeTakeFirst();
}

function page(interaction: Interaction, pageTitle: string, extra: Record<string, unknown> = {}) {
  const error = extra.error as string | undefined;
  return {
    pageTitle,
    uid: interaction.uid,
    clientId: interaction.params.client_id,
    methods,
    errorList: error ? [{ text: error, href: "#main-field" }] : undefined,
    ...extra,
  };
}
