import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type Provider from "oidc-provider";
import { methodsAccepted } from "../../assurance/methods.ts";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { accountApp } from "../../authenticators/account/app.ts";
import { cookiesOf } from "../../authenticators/account/pages.ts";
import { consumeEnrolmentLink, openEnrolmentLink } from "../../authenticators/enrolment/links.ts";
import {
  linksOf,
  linkUpstreamAccount,
  peopleNamedByLogout,
  personOfUpstream,
} from "../../authenticators/federation/links.ts";
import {
  listUpstreamProviders,
  openUpstreamProvider,
  type UpstreamProviderWithCredential,
} from "../../authenticators/federation/providers.ts";
import {
  callbackPath,
  federationPath,
  finishUpstreamSignIn,
  startUpstreamSignIn,
  type UpstreamIdentity,
  type UpstreamPending,
  UpstreamRefusedError,
  upstreamJwksUri,
} from "../../authenticators/federation/upstream-client.ts";
import { type Attempt, giveBack, signInCounters, takeAttempt } from "../../authenticators/throttle.ts";
import { DomainError, InvalidInputError } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import { type Db, inTransaction } from "../../store/database.ts";
import { findSession } from "../../web/first-party/sessions.ts";
import { overHttps } from "../../web/https.ts";
import { pageRenderer } from "../../web/pages.ts";
import { endSessionsOf } from "../session-revocation.ts";
import { completeAuthentication, requestedClasses } from "../sign-in/complete.ts";

/**
 * NHS.net Connect's pages. Every upstream round trip starts on one of three pages (a CIS2
 * sign-in, an enrolment link, "your authenticators"), leaves with a sealed cookie holding PKCE,
 * state and nonce and where to come back to, and returns through the one redirect URI registered
 * upstream, which sends the browser back to the page that started it. There the code is redeemed
 * and the result used: a CIS2 authentication (amr NHSMAIL) through the one completion function,
 * or a new link.
 */
const pendingCookie = "careid_upstream";
const accountPath = "/authenticators/mine";
const enrolmentPath = "/authenticators/enrol";
const { renderPage } = pageRenderer([fileURLToPath(new URL("./", import.meta.url))]);

type Context = {
  provider: () => Provider;
  db: Db;
  sealer: Sealer;
  issuer: string;
  signInBase: string;
  developmentLogin: boolean;
};
type Interaction = Awaited<ReturnType<Provider["interactionDetails"]>>;
type Pending = UpstreamPending & { returnPath: string };

export function registerFederationPages(app: FastifyInstance, context: Context): void {
  const { db, sealer, signInBase, developmentLogin } = context;
  const callbackUrl = `${new URL(context.issuer).origin}${callbackPath}`;

  /** The one redirect URI registered upstream: back to the page that started the round trip. */
  app.get(callbackPath, async (request, reply) => {
    const pending = pendingOf(request);
    if (!pending)
      return refused(reply, "This sign-in was started in another browser or has expired. Start again.");
    return reply.redirect(`${pending.returnPath}${new URL(request.url, callbackUrl).search}`, 303);
  });

  // CIS2 sign-in: offered where the requested acr accepts NHSMAIL (AAL2).
  app.get<{ Params: { uid: string } }>(`${signInBase}/:uid/nhs-net-connect`, async (request, reply) => {
    const interaction = await interactionOf(request, reply);
    if (!acceptsNhsMail(interaction))
      return refused(
        reply,
        "The service you are signing in to needs a stronger authenticator than NHS.net Connect.",
        `${signInBase}/${interaction.uid}`,
      );
    const identified = identifiedOf(interaction);
    const linked = identified ? (await linksOf(db, identified))[0]?.providerId : undefined;
    return goUpstream(reply, request, linked, `${signInBase}/${interaction.uid}/nhs-net-connect/return`);
  });

  app.get<{ Params: { uid: string } }>(
    `${signInBase}/:uid/nhs-net-connect/return`,
    async (request, reply) => {
      const interaction = await interactionOf(request, reply);
      const back = `${signInBase}/${interaction.uid}`;
      const actor: Actor = { kind: "system", id: "cis2", source: "CIS2", correlationId: interaction.uid };
      const attempt = await takeAttempt(db, actor, signInCounters.federated(request.ip));
      if (!attempt.allowed) return tooManyAttempts(reply, attempt, back);
      const identity = await returnedIdentity(request, reply, actor, back);
      if (!identity) return reply;
      let uuid: string;
      try {
        uuid = await personOfUpstream(db, actor, identity);
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return refused(reply, error.message, back);
      }
      const identified = identifiedOf(interaction);
      if (identified && identified !== uuid) {
        await audit(actor, "federation.sign-in-refused", uuid, {
          provider: identity.providerId,
          reason: "someone-else",
        });
        return refused(
          reply,
          "This NHS.net Connect account is linked to someone else's Care Identity.",
          back,
        );
      }
      if (!acceptsNhsMail(interaction))
        return refused(
          reply,
          "The service you are signing in to needs a stronger authenticator than NHS.net Connect.",
          back,
        );
      const location = await completeAuthentication(
        context.provider(),
        db,
        { req: request.raw, res: reply.raw },
        interaction,
        { uuid, method: "NHSMAIL", developmentLogin },
      );
      // A return that signed someone in was no guess.
      await giveBack(db, attempt.counted, ["failuresPerAddress"]);
      return reply.redirect(location, 303);
    },
  );

  // An RA's enrolment link: the person signs in upstream from it, and that account is linked.
  app.get<{ Params: { token: string } }>(
    `${enrolmentPath}/:token/nhs-net-connect`,
    async (request, reply) => {
      await openEnrolmentLink(db, request.params.token, request.id);
      return goUpstream(
        reply,
        request,
        undefined,
        `${enrolmentPath}/${request.params.token}/nhs-net-connect/return`,
      );
    },
  );

  app.get<{ Params: { token: string } }>(
    `${enrolmentPath}/:token/nhs-net-connect/return`,
    async (request, reply) => {
      const link = await openEnrolmentLink(db, request.params.token, request.id);
      const actor: Actor = { kind: "person", id: link.uuid, source: "ENROLMENT", correlationId: request.id };
      const back = `${enrolmentPath}/${request.params.token}`;
      const identity = await returnedIdentity(request, reply, actor, back);
      if (!identity) return reply;
      try {
        await inTransaction(db, async (tx) => {
          await consumeEnrolmentLink(tx, link);
          await linkUpstreamAccount(tx, actor, link.uuid, identity);
        });
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        return refused(reply, error.message, back);
      }
      return renderPage(reply, "federation-linked.njk", {
        pageTitle: "Your NHS.net Connect account is linked",
        email: identity.email,
      });
    },
  );

  // "Your authenticators": a person signed in at AAL2 or above links an account (NHSMAIL is AAL2).
  app.get(`${accountPath}/nhs-net-connect`, async (request, reply) => {
    const session = await accountSessionOf(request);
    if (!session) return reply.redirect(`${accountPath}/sign-in`, 303);
    return goUpstream(reply, request, undefined, `${accountPath}/nhs-net-connect/return`);
  });

  app.get(`${accountPath}/nhs-net-connect/return`, async (request, reply) => {
    const session = await accountSessionOf(request);
    if (!session)
      return refused(reply, "Your session has ended. Sign in again to link an account.", accountPath);
    const actor: Actor = { kind: "person", id: session.uuid, source: "ACCOUNT", correlationId: request.id };
    const identity = await returnedIdentity(request, reply, actor, accountPath);
    if (!identity) return reply;
    if (session.aal < 2)
      return refused(reply, "Linking NHS.net Connect needs a sign-in at AAL2 or above.", accountPath);
    try {
      await inTransaction(db, (tx) => linkUpstreamAccount(tx, actor, session.uuid, identity));
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      return refused(reply, error.message, accountPath);
    }
    return renderPage(reply, "federation-linked.njk", {
      pageTitle: "Your NHS.net Connect account is linked",
      email: identity.email,
      backToList: accountPath,
    });
  });

  /**
   * OpenID Connect Back-Channel Logout from the upstream: the logout token is verified against
   * the provider's published keys; the people it names lose their CIS2 sessions signed in with
   * NHS.net Connect, and the relying parties of those sessions get their own back-channel logout.
   */
  app.post<{ Params: { provider: string }; Body: Record<string, string | undefined> }>(
    `${federationPath}/:provider/backchannel-logout`,
    async (request, reply) => {
      const invalid = (description: string) =>
        reply
          .code(400)
          .header("cache-control", "no-store")
          .send({ error: "invalid_request", error_description: description });
      let provider: UpstreamProviderWithCredential;
      try {
        provider = await openUpstreamProvider(db, sealer, request.params.provider);
      } catch {
        return invalid("unknown upstream provider");
      }
      const token = request.body?.logout_token;
      if (!token) return invalid("logout_token is required");
      let claims: Record<string, unknown>;
      try {
        ({ payload: claims } = await jwtVerify(token, await upstreamKeys(provider), {
          issuer: provider.issuer,
          audience: provider.clientId,
          maxTokenAge: "5m",
        }));
      } catch (error) {
        return invalid(`logout_token is not valid: ${(error as Error).message}`);
      }
      const events = claims.events as Record<string, unknown> | undefined;
      if (typeof events?.["http://schemas.openid.net/event/backchannel-logout"] !== "object")
        return invalid("logout_token has no back-channel logout event");
      if ("nonce" in claims) return invalid("logout_token must not hold a nonce");
      const named = {
        sub: typeof claims.sub === "string" ? claims.sub : undefined,
        sid: typeof claims.sid === "string" ? claims.sid : undefined,
      };
      if (!named.sub && !named.sid) return invalid("logout_token names neither sub nor sid");
      const actor: Actor = {
        kind: "system",
        id: `upstream:${provider.id}`,
        source: "CIS2",
        correlationId: request.id,
      };
      for (const uuid of await peopleNamedByLogout(db, provider.id, named))
        await endSessionsOf(db, actor, uuid, ["NHSMAIL"]);
      return reply.code(200).header("cache-control", "no-store").send();
    },
  );

  async function goUpstream(
    reply: FastifyReply,
    request: FastifyRequest,
    providerId: string | undefined,
    returnPath: string,
  ) {
    const providers = await listUpstreamProviders(db);
    const chosen = providerId ?? providers[0]?.id;
    if (!chosen) return refused(reply, "NHS.net Connect is not set up on this service.");
    const provider = await openUpstreamProvider(db, sealer, chosen);
    const { url, pending } = await startUpstreamSignIn(provider, callbackUrl);
    setPending(request, reply, { ...pending, returnPath });
    return reply.redirect(url.href, 303);
  }

  /** The upstream account the browser came back with, or undefined after answering why not. */
  async function returnedIdentity(
    request: FastifyRequest,
    reply: FastifyReply,
    actor: Actor,
    back: string,
  ): Promise<UpstreamIdentity | undefined> {
    const pending = pendingOf(request);
    setPending(request, reply, undefined);
    if (!pending || pending.returnPath !== new URL(request.url, callbackUrl).pathname) {
      refused(reply, "This sign-in was started in another browser or has expired. Start again.", back);
      return undefined;
    }
    const returned = new URL(`${callbackUrl}${new URL(request.url, callbackUrl).search}`);
    try {
      const provider = await openUpstreamProvider(db, sealer, pending.providerId);
      return await finishUpstreamSignIn(provider, returned, pending);
    } catch (error) {
      if (!(error instanceof UpstreamRefusedError)) throw error;
      await audit(actor, "federation.upstream-refused", actor.kind === "person" ? actor.id : undefined, {
        provider: pending.providerId,
        reason: error.reason,
        detail: error.detail,
      });
      refused(reply, error.message, back);
      return undefined;
    }
  }

  async function audit(
    actor: Actor,
    action: string,
    uuid: string | undefined,
    after: Record<string, unknown>,
  ) {
    await inTransaction(db, (tx) =>
      recordEvent(tx, actor, { action, subject: uuid ? { type: "person", id: uuid } : undefined, after }),
    );
  }

  async function interactionOf(request: FastifyRequest<{ Params: { uid: string } }>, reply: FastifyReply) {
    const expired = InvalidInputError.field(
      "interaction",
      "This sign-in has expired or was started in another window. Go back to the service you came from and sign in again.",
    );
    const interaction = await context
      .provider()
      .interactionDetails(request.raw, reply.raw)
      .catch((error: { name?: string }) => {
        throw error.name === "SessionNotFound" ? expired : error;
      });
    if (interaction.uid !== request.params.uid) throw expired;
    return interaction;
  }

  function acceptsNhsMail(interaction: Interaction): boolean {
    return methodsAccepted(requestedClasses(interaction, developmentLogin)).includes("NHSMAIL");
  }

  async function accountSessionOf(request: FastifyRequest) {
    return findSession(db, sealer, accountApp, cookiesOf(request).careid_account);
  }

  function pendingOf(request: FastifyRequest): Pending | undefined {
    const sealed = cookiesOf(request)[pendingCookie];
    if (!sealed) return undefined;
    try {
      return JSON.parse(sealer.open(sealed)) as Pending;
    } catch {
      return undefined;
    }
  }

  function setPending(request: FastifyRequest, reply: FastifyReply, pending: Pending | undefined) {
    const value = pending ? sealer.seal(JSON.stringify(pending)) : "";
    reply.header(
      "set-cookie",
      `${pendingCookie}=${value}; Path=/; Max-Age=${pending ? 600 : 0}; HttpOnly; SameSite=Lax${overHttps(request, context.issuer) ? "; Secure" : ""}`,
    );
  }

  function tooManyAttempts(reply: FastifyReply, refusal: Extract<Attempt, { allowed: false }>, back: string) {
    reply.header("retry-after", String(refusal.retryAfterSeconds));
    const minutes = Math.ceil(refusal.retryAfterSeconds / 60);
    return renderPage(
      reply,
      "federation-refused.njk",
      {
        pageTitle: "You have tried to sign in too many times",
        message: `Too many sign-ins from this network were refused. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`,
        back,
      },
      429,
    );
  }

  function refused(reply: FastifyReply, message: string, back?: string) {
    return renderPage(
      reply,
      "federation-refused.njk",
      { pageTitle: "You could not sign in with NHS.net Connect", message, back },
      403,
    );
  }
}

/** Who said they were signing in before choosing NHS.net Connect, if anyone. */
function identifiedOf(interaction: Interaction): string | undefined {
  return (interaction.result as { identified?: { uuid?: string } } | undefined)?.identified?.uuid;
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

async function upstreamKeys(provider: UpstreamProviderWithCredential) {
  const uri = await upstreamJwksUri(provider);
  let keys = keySets.get(uri);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(uri));
    keySets.set(uri, keys);
  }
  return keys;
}
