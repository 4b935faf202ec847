import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { methods } from "../../assurance/methods.ts";
import type { Actor } from "../../audit/actor.ts";
import { DomainError, InvalidInputError } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";
import { formTokenValid, issueFormToken } from "../../web/first-party/form-tokens.ts";
import {
  endSession,
  type FirstPartySession,
  findSession,
  holdChallenge,
  pendingChallenge,
  spendChallenge,
  startSession,
} from "../../web/first-party/sessions.ts";
import { firstPartySignIn, type PendingSignIn, type SignedInUser } from "../../web/first-party/sign-in.ts";
import { overHttps } from "../../web/https.ts";
import { renderPage } from "../../web/pages.ts";
import { assuranceWords, dateAndTime, longDate } from "../../web/wording.ts";
import { registeredPage, type WebAuthnPlace, webauthnPlaces } from "../enrolment/pages.ts";
import {
  listOwnAuthenticators,
  type OwnAuthenticator,
  removeOwnAuthenticator,
  renameOwnAuthenticator,
} from "../own-authenticators.ts";
import type { AttestationPolicy } from "../webauthn/attestation/policy.ts";
import { authenticatorKinds } from "../webauthn/classification.ts";
import { registerCredential, registrationOptions } from "../webauthn/registration.ts";
import type { RelyingParty } from "../webauthn/relying-party.ts";
import { accountApp, accountPath } from "./app.ts";

export { accountPath };

const sessionCookie = "careid_account";
const signInCookie = "careid_account_sign_in";

type Form = Record<string, string | undefined>;
/** A session of this page always names the method signed in with. */
type AccountSession = FirstPartySession & { method: NonNullable<FirstPartySession["method"]> };
type Context = {
  db: Db;
  sealer: Sealer;
  issuer: string;
  clientSecret: string;
  relyingParty: () => RelyingParty;
  attestationPolicy: AttestationPolicy;
};

/**
 * "Your authenticators": a signed-in person lists, renames and removes their own authenticators
 * and adds more, up to the AAL they signed in with. The page is a relying party of CIS2: it signs
 * people in with the authorization-code flow (PKCE, state, nonce, prompt=login), talking to the
 * provider in-process, so it gets assurance, step-up and refusals exactly as any service does.
 */
export function registerAccountPages(app: FastifyInstance, context: Context): void {
  const { db } = context;
  const cis2 = firstPartySignIn(app, {
    issuer: context.issuer,
    app: accountApp,
    clientSecret: context.clientSecret,
  });

  app.get(accountPath, async (request, reply) => {
    const session = await sessionOf(request);
    if (!session) return reply.redirect(`${accountPath}/sign-in`, 303);
    return showList(request, reply, session);
  });

  app.get(`${accountPath}/sign-in`, async (_request, reply) => {
    const { url, pending } = await cis2.startSignIn();
    setCookie(reply, signInCookie, context.sealer.seal(JSON.stringify(pending)), 600);
    return reply.redirect(url.href, 303);
  });

  app.get(`${accountPath}/callback`, async (request, reply) => {
    const sealed = cookiesOf(request)[signInCookie];
    let pending: PendingSignIn;
    try {
      pending = JSON.parse(context.sealer.open(String(sealed)));
    } catch {
      return refusal(reply, "This sign-in was started in another browser or has expired. Sign in again.");
    }
    clearCookie(reply, signInCookie);
    let user: SignedInUser;
    try {
      user = await cis2.finishSignIn(new URL(request.url, cis2.callbackUrl), pending);
    } catch (error) {
      const code = (error as { error?: string }).error;
      return refusal(
        reply,
        code === "access_denied"
          ? "You did not sign in with a way strong enough for this page. Managing your authenticators needs an authenticator at AAL2 or AAL3: an authenticator app, a passkey, a security key or a smartcard. Your Registration Authority can send you an enrolment link to add one."
          : "You could not sign in. Try again.",
      );
    }
    const token = await startSession(db, context.sealer, accountApp, user);
    setCookie(reply, sessionCookie, token, accountApp.longestMinutes * 60);
    return reply.redirect(accountPath, 303);
  });

  /** Renaming and removing each start on a page about the one authenticator, named. */
  for (const step of ["rename", "remove"] as const)
    app.get<{ Querystring: Form }>(`${accountPath}/${step}`, async (request, reply) => {
      const session = await sessionOf(request);
      if (!session) return reply.redirect(`${accountPath}/sign-in`, 303);
      return showOne(reply, session, step, request.query?.id ?? "");
    });

  app.post<{ Body: Form }>(`${accountPath}/rename`, async (request, reply) =>
    change(
      request,
      reply,
      (session, actor) =>
        renameOwnAuthenticator(db, actor, {
          uuid: session.uuid,
          id: request.body?.id ?? "",
          name: request.body?.name ?? "",
        }),
      "rename",
    ),
  );

  app.post<{ Body: Form }>(`${accountPath}/remove`, async (request, reply) => {
    const session = await sessionOf(request);
    const named = session
      ? (await listOwnAuthenticators(db, session.uuid)).find((one) => one.id === request.body?.id)
      : undefined;
    return change(
      request,
      reply,
      (session, actor) =>
        removeOwnAuthenticator(db, actor, { uuid: session.uuid, id: request.body?.id ?? "" }),
      "remove",
      named && `${accountPath}?removed=${encodeURIComponent(named.name)}`,
    );
  });

  app.post(`${accountPath}/sign-out`, async (request, reply) => {
    const session = await sessionOf(request);
    if (session) await endSession(db, session.tokenDigest);
    clearCookie(reply, sessionCookie);
    return renderPage(reply, "authenticators/signed-out.njk", {
      pageTitle: "You have left your authenticators",
    });
  });

  for (const place of Object.keys(webauthnPlaces) as WebAuthnPlace[]) {
    app.get(`${accountPath}/add/${place}`, async (request, reply) => {
      const session = await sessionOf(request);
      if (!session) return reply.redirect(`${accountPath}/sign-in`, 303);
      return showAdd(reply, session, place);
    });

    app.post<{ Body: Form }>(`${accountPath}/add/${place}`, async (request, reply) => {
      const session = await signedInForChange(request);
      const challenge = await pendingChallenge(db, session);
      try {
        const { kind } = await registerCredential(
          db,
          context.relyingParty(),
          context.attestationPolicy,
          {
            uuid: session.uuid,
            challenge,
            actor: actorOf(session, request),
            maxAal: session.aal,
            claim: (tx) => spendChallenge(tx, session, String(challenge)),
          },
          request.body?.response ?? "",
        );
        return renderPage(reply, "authenticators/enrolled.njk", {
          ...registeredPage(kind),
          backToList: accountPath,
        });
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        return showAdd(reply, session, place, error.problems[0]?.message);
      }
    });
  }

  async function sessionOf(request: FastifyRequest): Promise<AccountSession | undefined> {
    const session = await findSession(db, context.sealer, accountApp, cookiesOf(request)[sessionCookie]);
    return session?.method ? { ...session, method: session.method } : undefined;
  }

  /** A change needs a live session and the form's token from it (SameSite cookies aside). */
  async function signedInForChange(request: FastifyRequest<{ Body: Form }>): Promise<AccountSession> {
    const session = await sessionOf(request);
    if (!session)
      throw InvalidInputError.field("session", "Your session has ended. Sign in again to make changes.");
    if (!formTokenValid(session, request.body?.csrf))
      throw InvalidInputError.field(
        "csrf",
        "This form is out of date. Go back, reload the page and try again.",
      );
    return session;
  }

  async function change(
    request: FastifyRequest<{ Body: Form }>,
    reply: FastifyReply,
    work: (session: AccountSession, actor: Actor) => Promise<void>,
    step: "rename" | "remove",
    done: string = accountPath,
  ) {
    const session = await signedInForChange(request);
    try {
      await work(session, actorOf(session, request));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      const message =
        error instanceof InvalidInputError ? (error.problems[0]?.message ?? error.message) : error.message;
      const held = await listOwnAuthenticators(db, session.uuid);
      // A problem with one named authenticator is shown on its own page; anything else on the list.
      if (held.some((one) => one.id === request.body?.id))
        return showOne(reply, session, step, request.body?.id ?? "", message);
      return showList(request, reply, session, message);
    }
    return reply.redirect(done, 303);
  }

  async function showOne(
    reply: FastifyReply,
    session: AccountSession,
    step: "rename" | "remove",
    id: string,
    error?: string,
  ) {
    const held = await listOwnAuthenticators(db, session.uuid);
    const authenticator = held.find((one) => one.id === id);
    if (!authenticator) return reply.redirect(accountPath, 303);
    return renderPage(
      reply,
      step === "rename" ? "authenticators/rename.njk" : "authenticators/remove.njk",
      {
        pageTitle: step === "rename" ? `Rename ${authenticator.name}` : `Remove ${authenticator.name}?`,
        authenticator: described(authenticator),
        onlyOne: held.length === 1,
        csrf: issueFormToken(session),
        error,
        errorList: error ? [{ text: error, href: step === "rename" ? "#name" : "#remove" }] : undefined,
      },
      error ? 400 : 200,
    );
  }

  async function showList(
    request: FastifyRequest,
    reply: FastifyReply,
    session: AccountSession,
    error?: string,
  ) {
    const authenticators = await listOwnAuthenticators(db, session.uuid);
    return renderPage(
      reply,
      "authenticators/mine.njk",
      {
        pageTitle: "Your authenticators",
        uuid: session.uuid,
        signedInWith: methods[session.method].label,
        aal: session.aal,
        until: session.expiresAt,
        csrf: issueFormToken(session),
        removed:
          typeof (request.query as Form | undefined)?.removed === "string"
            ? (request.query as Form).removed
            : undefined,
        authenticators: authenticators.map((authenticator, index) => ({
          ...described(authenticator),
          index,
        })),
        error,
        errorList: error ? [{ text: error, href: "#authenticators" }] : undefined,
        path: request.url,
      },
      error ? 400 : 200,
    );
  }

  async function showAdd(reply: FastifyReply, session: AccountSession, place: WebAuthnPlace, error?: string) {
    const options = await registrationOptions(db, context.relyingParty(), session.uuid);
    await holdChallenge(db, session, options.challenge);
    return renderPage(
      reply,
      "authenticators/enrol-webauthn.njk",
      {
        ...webauthnPlaces[place],
        action: `${accountPath}/add/${place}`,
        options: JSON.stringify(options),
        csrf: issueFormToken(session),
        limit: `You signed in at AAL${session.aal}: you can add authenticators up to AAL${session.aal}.`,
        error,
        errorList: error ? [{ text: error, href: "#main-field" }] : undefined,
      },
      error ? 400 : 200,
    );
  }

  function setCookie(reply: FastifyReply, name: string, value: string, maxAgeSeconds: number) {
    reply.header(
      "set-cookie",
      `${name}=${value}; Path=${accountPath}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${overHttps(reply.request, context.issuer) ? "; Secure" : ""}`,
    );
  }

  function clearCookie(reply: FastifyReply, name: string) {
    setCookie(reply, name, "", 0);
  }

  function refusal(reply: FastifyReply, message: string) {
    return renderPage(
      reply,
      "authenticators/account-refused.njk",
      { pageTitle: "You cannot manage your authenticators now", message },
      400,
    );
  }
}

/** An authenticator as its holder reads it: its kind, what it allows, and when, in words. */
function described(authenticator: OwnAuthenticator) {
  const strongKind = authenticator.kind === authenticatorKinds["security-key"].label;
  return {
    ...authenticator,
    allows: `${assuranceWords(authenticator.method)}${
      strongKind && authenticator.aal < 3
        ? " (its maker could not be confirmed, so it counts as a passkey)"
        : ""
    }`,
    added: longDate(authenticator.createdAt),
    lastUsed: authenticator.lastUsedAt ? dateAndTime(authenticator.lastUsedAt) : "Never",
    locked: authenticator.lockedUntil ? dateAndTime(authenticator.lockedUntil) : undefined,
  };
}

function actorOf(session: AccountSession, request: FastifyRequest): Actor {
  return { kind: "person", id: session.uuid, source: "ACCOUNT", correlationId: request.id };
}

/** The request's cookies by name (the pages here set their own, path-scoped). */
export function cookiesOf(request: FastifyRequest): Record<string, string> {
  return Object.fromEntries(
    String(request.headers.cookie ?? "")
      .split(";")
      .map((pair) => pair.trim().split("="))
      .filter((pair): pair is [string, string] => pair.length >= 2 && Boolean(pair[0]))
      .map(([name, ...value]) => [name, value.join("=")]),
  );
}
