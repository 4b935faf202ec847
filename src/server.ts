import { randomUUID } from "node:crypto";
import fastifyFormbody from "@fastify/formbody";
import Fastify, { type FastifyInstance } from "fastify";
import type { DestinationStream } from "pino";
import { registerReferenceData } from "./api/reference-data.ts";
import { registerApplyApiRoutes } from "./apply/api-routes.ts";
import { registerApplyCimRoutes } from "./apply/cim-routes.ts";
import { applicationFigures } from "./apply/figures.ts";
import { applyPath, registerApplyPages } from "./apply/pages.ts";
import { accountApp } from "./authenticators/account/app.ts";
import { registerAccountPages } from "./authenticators/account/pages.ts";
import { registerEnrolmentPages } from "./authenticators/enrolment/pages.ts";
import { registerPasswordResetPages } from "./authenticators/password/reset-pages.ts";
import { registerSmartcards } from "./authenticators/smartcard/register.ts";
import { relyingPartyFor } from "./authenticators/webauthn/relying-party.ts";
import { registerWebAuthnScripts } from "./authenticators/webauthn/scripts.ts";
import { registerCis1 } from "./cis1/routes.ts";
import { registerFederationPages } from "./cis2/nhs-net-connect/pages.ts";
import { signInPath } from "./cis2/provider.ts";
import { registerCis2 } from "./cis2/routes.ts";
import { registerSmartcardPresence, registerSmartcardScripts } from "./cis2/smartcard-routes.ts";
import { type Cis2Provider, clientValidator } from "./cis2/start.ts";
import type { Config } from "./config.ts";
import { registerDirectory } from "./directory/register.ts";
import { loggerOptions } from "./logging.ts";
import { registerDemoMessages } from "./messaging/demo-page.ts";
import { type Lifecycle, registerHealth } from "./operations/health.ts";
import { registerMetrics } from "./operations/metrics.ts";
import type { CodeLists } from "./rbac/code-lists.ts";
import { registerCimApi } from "./registration/api/plugin.ts";
import { cimApp } from "./registration/pages/app.ts";
import { registerCimPages } from "./registration/pages/plugin.ts";
import { chooserPath, registerPersonaChooser } from "./sandbox/chooser-routes.ts";
import type { PersonaDirectory } from "./sandbox/personas-watch.ts";
import { registerDemoUsers } from "./seed/demo-users-page.ts";
import { registerSigning } from "./signing/register.ts";
import type { Store } from "./store/database.ts";
import { registerAboutPages } from "./web/about-pages.ts";
import type { FirstPartyApp } from "./web/first-party/app.ts";
import { registerHome } from "./web/home.ts";
import { registerStrictTransportSecurity } from "./web/https.ts";
import { refuseNulBytes } from "./web/nul-bytes.ts";
import { registerOneHostName } from "./web/one-host-name.ts";
import { markPagesAsSandbox, registerAssets } from "./web/pages.ts";
import { logFailure, problemFor, sendProblem } from "./web/problem.ts";
import {
  apiSecurityHeaders,
  registerSecurityHeaders,
  securityHeaderOptions,
} from "./web/security-headers.ts";

export type ServerOptions = {
  config: Config;
  store: Store;
  lists: CodeLists;
  demo: boolean;
  /** Shared with whoever stops the server, so readiness fails while it drains. */
  lifecycle?: Lifecycle;
  /** Where logs go instead of standard output (tests read them). */
  logStream?: DestinationStream;
  /** CIS2 Authentication, when its provider is running (started by src/app/start-cis2.ts). */
  cis2?: Pick<Cis2Provider, "host" | "developmentLogin" | "sealer" | "attestationPolicy"> & {
    clientSecret(app: FirstPartyApp): string;
  };
  /** Only `careid sandbox` gives this: the personas, their chooser and the sandbox's marks. */
  sandbox?: { personas: PersonaDirectory };
};

/** Builds the HTTP service: one line per part of the service. */
export async function buildServer({
  config,
  store,
  lists,
  demo,
  cis2,
  lifecycle = { draining: false },
  logStream,
  sandbox,
}: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { ...loggerOptions(config.logLevel), ...(logStream ? { stream: logStream } : {}) },
    genReqId: (request) => {
      const given = request.headers["x-request-id"];
      return typeof given === "string" && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : randomUUID();
    },
    requestIdHeader: false,
    trustProxy: config.trustProxy,
  });
  // The service-wide hooks take a callback rather than return a promise: an async hook costs
  // every request a promise and a turn of the event loop for a step that never waits.
  app.addHook("onSend", (request, reply, payload, done) => {
    reply.header("x-request-id", request.id);
    done(null, payload);
  });
  // First of all: a route takes the error handler in force when it is declared, and plugins
  // awaited below declare theirs at once. A handler set last would leave those answering with
  // Fastify's default, which shows an error's internals (a database error's code and address).
  app.setErrorHandler((error, request, reply) => {
    const problem = problemFor(error);
    logFailure(request, problem, error);
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, {
      type: "https://careid.example/problems/not-found",
      title: "Not found",
      status: 404,
      detail: `There is nothing at ${request.method} ${request.url.split("?")[0]}`,
    }),
  );
  registerStrictTransportSecurity(app, config.issuer);
  const securityHeaders = securityHeaderOptions(config);
  registerSecurityHeaders(app, securityHeaders);
  await app.register(fastifyFormbody);
  app.addHook("preValidation", refuseNulBytes);
  // Before any route or plugin, so every page of the demo is reached at the issuer's host name.
  if (demo && cis2?.developmentLogin) registerOneHostName(app, config.issuer);
  await registerAssets(app);
  if (cis2) {
    await registerWebAuthnScripts(app);
    await registerSmartcardScripts(app);
  }

  registerHealth(app, store, lifecycle);
  registerMetrics(app);
  // The demo's messages go to a folder (no relay configured): the home page links to them.
  const demoMessages = demo && !config.messages.smtp && !config.messages.notify;
  registerHome(app, store, demo, Boolean(demo && cis2?.developmentLogin), { messages: demoMessages });
  registerAboutPages(app);
  registerReferenceData(app, store, lists);
  if (cis2)
    await registerCis2(app, {
      host: cis2.host,
      db: store.db,
      lists,
      developmentLogin: cis2.developmentLogin,
      sealer: cis2.sealer,
      smartcard: {
        agentUrl: config.smartcardAgentUrl,
        tlsUrl: config.mtls && `https://${new URL(config.issuer).hostname}:${config.mtls.port}`,
      },
      // The sandbox's realm is mounted at its own issuer's path, and its personas sign in.
      ...(sandbox ? { realm: new URL(config.issuer).pathname, chooserPath } : {}),
    });
  if (cis2 && sandbox) {
    markPagesAsSandbox();
    registerPersonaChooser(app, { provider: cis2.host.provider, db: store.db, personas: sandbox.personas });
  }
  if (cis2) registerSmartcardPresence(app, store.db);
  if (cis2) registerPasswordResetPages(app, { db: store.db, sealer: cis2.sealer });
  if (cis2)
    registerFederationPages(app, {
      provider: cis2.host.provider,
      db: store.db,
      sealer: cis2.sealer,
      issuer: config.issuer,
      signInBase: signInPath,
      developmentLogin: cis2.developmentLogin,
    });
  if (cis2)
    registerEnrolmentPages(app, {
      db: store.db,
      sealer: cis2.sealer,
      relyingParty: () => relyingPartyFor(config.issuer),
      attestationPolicy: cis2.attestationPolicy,
    });
  if (cis2)
    registerAccountPages(app, {
      db: store.db,
      sealer: cis2.sealer,
      issuer: config.issuer,
      clientSecret: cis2.clientSecret(accountApp),
      relyingParty: () => relyingPartyFor(config.issuer),
      attestationPolicy: cis2.attestationPolicy,
    });
  if (cis2)
    await registerSmartcards(app, store.db, {
      sealer: cis2.sealer,
      pkiUrl: config.pkiUrl,
      cardCertificateDays: config.cardCertificateDays,
      caToken: config.caToken,
      selfUnlock: {
        agentUrl: config.smartcardAgentUrl,
        emailDomains: config.unlockEmailDomains,
        // Texts go by GOV.UK Notify, or to the demo's folder; SMTP alone cannot send them.
        smsAvailable: Boolean(config.messages.notify) || !config.messages.smtp,
      },
    });
  if (cis2)
    await registerCis1(app, {
      db: store.db,
      lists,
      sealer: cis2.sealer,
      lifetimes: config.cis1,
      issuer: new URL(config.issuer).origin,
      signAssertions: config.cis1.signAssertions,
      pkiUrl: config.pkiUrl,
      caToken: config.caToken,
    });
  if (cis2) await registerSigning(app, store.db, config, cis2.sealer);
  registerDirectory(app, store, lists, config.databaseUrl, apiSecurityHeaders(securityHeaders));
  if (cis2) {
    const cim = cimApp(config, demo && cis2.developmentLogin);
    const applySettings = { ...config.apply, applyUrl: `${new URL(config.issuer).origin}${applyPath}` };
    // Apply for Care ID lives in CIM (pages, API, a report) but CIM knows nothing of it: here they meet.
    const otherReports = { applications: applicationFigures };
    registerCimPages(app, {
      db: store.db,
      sealer: cis2.sealer,
      lists,
      issuer: config.issuer,
      app: cim,
      clientSecret: cis2.clientSecret(cim),
      relyingParties: { settings: config.relyingParties, validate: clientValidator(cis2.host) },
      routes: (pages, cimPages) => registerApplyCimRoutes(pages, cimPages, applySettings),
      otherReports,
    });
    registerApplyPages(app, {
      db: store.db,
      sealer: cis2.sealer,
      secureCookies: new URL(config.issuer).protocol === "https:",
    });
    // The API takes tokens of CIM's clients only, from a sign-in at a class the pages accept.
    registerCimApi(app, {
      db: store.db,
      lists,
      host: cis2.host,
      issuer: config.issuer,
      tokens: { clients: config.cimApiClients, acrValues: cim.acrValues.split(" ") },
      routes: (api, context) =>
        registerApplyApiRoutes(api, context, { sealer: cis2.sealer, settings: applySettings }),
      otherReports,
    });
  }
  if (demo && cis2?.developmentLogin) registerDemoUsers(app, { db: store.db, lists, sealer: cis2.sealer });
  if (demoMessages) registerDemoMessages(app, config.messages.folder);

  return app;
}
