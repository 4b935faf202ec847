import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { sql } from "kysely";
import type Provider from "oidc-provider";
import { type Method, methods, methodsAccepted } from "../../assurance/methods.ts";
import { recordEvent } from "../../audit/record.ts";
import { heldMethods } from "../../authenticators/held.ts";
import { checkPassword } from "../../authenticators/password/passwords.ts";
import { issueSmartcardChallenge } from "../../authenticators/smartcard/challenges.ts";
import { verifySmartcardAuthentication } from "../../authenticators/smartcard/verification.ts";
import {
  type Attempt,
  giveBack,
  type LimitName,
  type SignInAccount,
  signInCounters,
  signInLimits,
  takeAttempt,
} from "../../authenticators/throttle.ts";
import { checkTotpSignIn, wrongPasswordOrCode } from "../../authenticators/totp/app-authenticators.ts";
import {
  authenticationOptions,
  unregisteredSecurityKey,
  verifyAssertion,
} from "../../authenticators/webauthn/authentication.ts";
import { relyingPartyFor } from "../../authenticators/webauthn/relying-party.ts";
import { DomainError, InvalidInputError } from "../../errors.ts";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { type Db, inTransaction } from "../../store/database.ts";
import { isCareIdentifier } from "../../store/identifiers.ts";
import { pageRenderer } from "../../web/pages.ts";
import { smartcardMethods } from "../smartcard-presence.ts";
import { redeemTicket } from "../smartcard-tls.ts";
import { methodsOfUnknown, signInAccount } from "../unknown-identifiers.ts";
import { completeAuthentication, refuseSignIn, requestedClasses, usableMethods } from "./complete.ts";
import { positionsInRequest, selectRole } from "./role-selection.ts";

/** The sign-in pages' templates sit beside their steps. */
const { renderPage } = pageRenderer([fileURLToPath(new URL("./", import.meta.url))]);

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
  /** The sandbox's persona chooser, which then stands in for the authenticators (src/sandbox/). */
  chooserPath?: (uid: string) => string;
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
  NHSMAIL: "nhs-net-connect",
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
    if (prompt === "login" && context.chooserPath)
      return reply.redirect(context.chooserPath(interaction.uid), 303);
    if (prompt === "login")
      return renderPage(
        reply,
        "identify.njk",
        page(interaction, "Sign in with your Care Identity", { smartcard: acceptsSmartcard(interaction) }),
      );
    // Consent is pre-approved in CIS2: finishing the interaction lets the grant be made.
    return reply.redirect(
      await context.provider().interactionResult(request.raw, reply.raw, { consent: {} }),
      303,
    );
  });

  /**
   * Known and unknown identifiers get the same answer: an unknown one goes on as someone holding
   * what methodsOfUnknown says, and fails later as a wrong guess does. Only an empty field is
   * an error here.
   */
  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/identify`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const attempt = await takeAttempt(
      db,
      journeyActor(interaction, undefined),
      signInCounters.identify(request.ip),
    );
    if (!attempt.allowed) return tooManyAttempts(reply, interaction, attempt, "");
    const identifier = (request.body?.identifier ?? "").trim();
    if (!identifier)
      return renderPage(
        reply,
        "identify.njk",
        page(interaction, "Sign in with your Care Identity", {
          smartcard: acceptsSmartcard(interaction),
          error: "Enter your UUID or email address",
        }),
        400,
      );
    const person = await findPerson(db, identifier);
    const account = signInAccount(identifier, person?.uuid);
    const held = await heldMethods(db, account.key, developmentLogin);
    const usable = usableMethods(
      interaction,
      person ? held : methodsOfUnknown(developmentLogin),
      developmentLogin,
    );
    if (usable.length === 0) {
      const location = await refuseSignIn(context.provider(), db, raw(request, reply), interaction, {
        error: "access_denied",
        description:
          "the requested authentication assurance cannot be met by an authenticator this user holds",
        uuid: person?.uuid,
      });
      // The service still hears the OAuth error; the person first reads what to do about it.
      return renderPage(
        reply,
        "needs-stronger.njk",
        page(interaction, "You need a stronger way to sign in to this service", {
          accepted: [...new Set(acceptedMethods(interaction).map((method) => methods[method].label))],
          returnTo: location,
        }),
        403,
      );
    }
    const signingIn: SigningIn = { identifier, uuid: person?.uuid, account };
    await context
      .provider()
      .interactionResult(
        request.raw,
        reply.raw,
        { identified: signingIn },
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
    const { identifier } = signingInOf(interaction);
    return renderPage(
      reply,
      "authenticator-app.njk",
      page(interaction, "Use your authenticator app", { identifier }),
    );
  });

  /**
   * The password is the app's first factor: a wrong one is slowed by the back-off and counted
   * against the day's cap; only a wrong code sent with the right password counts towards the
   * app's own lock (and the cap), so knowing a UUID is not enough to lock someone out.
   */
  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/app`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const signingIn = signingInOf(interaction);
    const { identifier, uuid } = signingIn;
    const actor = journeyActor(interaction, uuid);
    const attempt = await takeAttempt(db, actor, signInCounters.password(signingIn.account, request.ip));
    if (!attempt.allowed) return tooManyAttempts(reply, interaction, attempt, "app");
    if (!(await usableFor(interaction)).includes("TOTP")) {
      // Only a hand-made request gets here: the pages never offer a method the sign-in refuses.
      await inTransaction(db, (tx) =>
        recordEvent(tx, actor, {
          action: "cis2.method-refused",
          subject: uuid ? { type: "person", id: uuid } : undefined,
          after: { method: "TOTP", clientId: interaction.params.client_id },
        }),
      );
      throw InvalidInputError.field(
        "method",
        "The service you are signing in to needs a stronger authenticator than the authenticator app.",
      );
    }
    const password = request.body?.password ?? "";
    const missing = missingAppFields(password, request.body?.code ?? "");
    if (missing.length > 0) {
      await giveBack(db, attempt.counted, everyLimit);
      return renderPage(
        reply,
        "authenticator-app.njk",
        page(interaction, "Use your authenticator app", { identifier, errors: missing }),
        400,
      );
    }
    const outcome = uuid
      ? await checkTotpSignIn(db, context.sealer, actor, { uuid, password, code: request.body?.code ?? "" })
      : await refuseUnknown(signingIn, password);
    if (!outcome.accepted || !uuid) {
      if (!outcome.accepted && outcome.passwordMatched)
        await giveBack(db, attempt.counted, ["passwordFailuresPerAccountAndAddress"]);
      return renderPage(
        reply,
        "authenticator-app.njk",
        page(interaction, "Use your authenticator app", {
          identifier,
          error: outcome.accepted ? wrongPasswordOrCode : outcome.message,
        }),
        400,
      );
    }
    await giveBack(db, attempt.counted, everyLimit);
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
    const signingIn = signingInOf(interaction);
    const { uuid } = signingIn;
    const attempt = await takeAttempt(
      db,
      journeyActor(interaction, uuid),
      signInCounters.securityKey(signingIn.account, request.ip),
    );
    if (!attempt.allowed) return tooManyAttempts(reply, interaction, attempt, "security-key");
    if (!uuid) return showSecurityKey(request, reply, interaction, unregisteredSecurityKey);
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
    await giveBack(db, attempt.counted, everyLimit);
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
    const { identifier } = signingInOf(interaction);
    return renderPage(reply, "password.njk", page(interaction, "Enter your password", { identifier }));
  });

  /** The development login: wrong passwords back off, and count against the day's cap. */
  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/password`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const signingIn = signingInOf(interaction);
    const { identifier, uuid } = signingIn;
    const attempt = await takeAttempt(
      db,
      journeyActor(interaction, uuid),
      signInCounters.password(signingIn.account, request.ip),
    );
    if (!attempt.allowed) return tooManyAttempts(reply, interaction, attempt, "password");
    if (!request.body?.password) {
      // Nothing was guessed: an empty box costs no attempt.
      await giveBack(db, attempt.counted, everyLimit);
      return renderPage(
        reply,
        "password.njk",
        page(interaction, "Enter your password", { identifier, error: "Enter your password" }),
        400,
      );
    }
    const allowed = (await usableFor(interaction)).includes("pwd");
    // An unknown identifier's password is checked against no one's, at the same cost.
    const matches =
      allowed && (await checkPassword(db, uuid ?? signingIn.account.key, request.body?.password ?? ""));
    if (!matches || !uuid) {
      return renderPage(
        reply,
        "password.njk",
        page(interaction, "Enter your password", { identifier, error: "The password is not correct" }),
        400,
      );
    }
    await giveBack(db, attempt.counted, everyLimit);
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
    // The service hears access_denied when the person follows the link back to it.
    return renderPage(
      reply,
      "cancelled.njk",
      page(interaction, "You cancelled signing in", { returnTo: location }),
    );
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
    const { uuid, account } = signingInOf(interaction);
    const held = await heldMethods(db, account.key, developmentLogin);
    return usableMethods(interaction, uuid ? held : methodsOfUnknown(developmentLogin), developmentLogin);
  }

  /** An unknown identifier's guess at the app: the same Argon2id work, and a wrong guess's words. */
  async function refuseUnknown(signingIn: SigningIn, password: string) {
    await checkPassword(db, signingIn.account.key, password);
    return { accepted: false as const, message: wrongPasswordOrCode, passwordMatched: false };
  }

  /** 429 in the design system, with Retry-After and the time to try again at. */
  function tooManyAttempts(
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
        retryPath: `${base}/${interaction.uid}${step ? `/${step}` : ""}`,
      }),
      429,
    );
  }

  async function showMethods(reply: FastifyReply, interaction: Interaction, error?: string) {
    const items = (await usableFor(interaction)).map((method) => ({
      value: method,
      text: methods[method].label,
    }));
    return renderPage(
      reply,
      "method.njk",
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
    const { identifier, account } = signingInOf(interaction);
    const usable = (await usableFor(interaction)).filter((method) => webauthnMethods.includes(method));
    const options = await authenticationOptions(
      db,
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
      "select-role.njk",
      page(interaction, "Select your role", {
        items: shown.map((position) => ({
          value: position.roleProfileId,
          text: `${position.jobRole.jobRoleName} at ${position.organisationName} (${position.odsCode})`,
          hint: {
            text: [
              position.workgroups.length > 0
                ? `Workgroups: ${position.workgroups.map((workgroup) => workgroup.name).join(", ")}.`
                : "",
              activitiesInWords(position.activities),
            ]
              .join(" ")
              .trim(),
          },
        })),
        total: positions.length,
        personName: await nameOf(db, uuid),
        searchable: positions.length > 5,
        search,
        error,
      }),
      error ? 400 : 200,
    );
  }
}

type Interaction = Awaited<ReturnType<Provider["interactionDetails"]>>;

export async function interactionFor(
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

/** Who said they are signing in: a person, or an identifier that names no one, answered alike. */
type SigningIn = { identifier: string; uuid?: string; account: SignInAccount };

function signingInOf(interaction: Interaction): SigningIn {
  const identified = (interaction.result as { identified?: SigningIn } | undefined)?.identified;
  if (!identified?.account) throw InvalidInputError.field("identifier", "say who you are first");
  return identified;
}

/** A right answer gives back what it counted everywhere it was counted. */
const everyLimit = Object.keys(signInLimits) as LimitName[];

/** The signed-in person's name, for the role page: who they are once they have proved it. */
async function nameOf(db: Db, uuid: string): Promise<string | undefined> {
  const person = await db
    .selectFrom("people")
    .select(["title", "given_name", "family_name"])
    .where("uuid", "=", uuid)
    .executeTakeFirst();
  return person ? [person.title, person.given_name, person.family_name].filter(Boolean).join(" ") : undefined;
}

async function findPerson(db: Db, identifier: string) {
  if (!identifier) return undefined;
  const query = db.selectFrom("people").select(["uuid", "status"]).where("status", "=", "active");
  return isCareIdentifier(identifier)
    ? query.where("uuid", "=", identifier).executeTakeFirst()
    : query.where(sql<string>`lower(email)`, "=", identifier.toLowerCase()).executeTakeFirst();
}

/** The app page's boxes left empty, each with what to enter. */
function missingAppFields(password: string, code: string): { field: string; text: string }[] {
  return [
    ...(password ? [] : [{ field: "main-field", text: "Enter your password" }]),
    ...(code.trim() ? [] : [{ field: "code", text: "Enter the 6-digit code" }]),
  ];
}

/** What a role lets its holder do, in a few words: the first activities by name and how many more. */
function activitiesInWords(activities: { name: string }[]): string {
  if (activities.length === 0) return "";
  const shown = activities.slice(0, 3).map((activity) => activity.name);
  const more = activities.length - shown.length;
  return `Activities: ${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}.`;
}

function page(interaction: Interaction, pageTitle: string, extra: Record<string, unknown> = {}) {
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
