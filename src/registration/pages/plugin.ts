import fastifyCookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from "../../errors.ts";
import { findPerson } from "../../people/people.ts";
import { decide } from "../../ra-policy/policy.ts";
import type { CodeLists } from "../../rbac/code-lists.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";
import { isDatabaseUnavailable } from "../../store/unavailable.ts";
import type { FirstPartyApp } from "../../web/first-party/app.ts";
import { formTokenField, formTokenValid } from "../../web/first-party/form-tokens.ts";
import { endSession, findSession } from "../../web/first-party/sessions.ts";
import { firstPartySignIn } from "../../web/first-party/sign-in.ts";
import { retryAfterSeconds } from "../../web/problem.ts";
import type { OtherReports } from "../reports.ts";
import { cimPath } from "./app.ts";
import { registerAssignmentRoutes } from "./assignment-routes.ts";
import { registerCardLifeRoutes } from "./card-life-routes.ts";
import { type Cim, renderCimPage, renderPublicPage, setSignedIn, signedIn, signedInAs } from "./context.ts";
import { registerOrganisationRoutes } from "./organisation-routes.ts";
import { registerOwnContactRoutes } from "./own-contact-routes.ts";
import { registerPositionRoutes } from "./position-routes.ts";
import { registerProfileActionRoutes } from "./profile-action-routes.ts";
import { registerProfileRoutes } from "./profile-routes.ts";
import { type RelyingPartyPages, registerRelyingPartyRoutes } from "./relying-party-routes.ts";
import { registerReportRoutes } from "./report-routes.ts";
import { registerRequestRoutes } from "./request-routes.ts";
import { registerSignInRoutes, sessionCookie } from "./sign-in-routes.ts";
import { registerSmartcardRoutes } from "./smartcard-routes.ts";
import { registerWorkgroupRoutes } from "./workgroup-routes.ts";
import { worklistOf } from "./worklist.ts";

export type CimOptions = {
  db: Db;
  sealer: Sealer;
  lists: CodeLists;
  issuer: string;
  app: FirstPartyApp;
  clientSecret: string;
  relyingParties: RelyingPartyPages;
  /**
   * Pages another capability adds to CIM, behind its session and form-token checks (Apply for
   * Care ID's invitations and review queue); wired by server.ts, so registration imports none.
   */
  routes?: (pages: FastifyInstance, cim: Cim) => void;
  otherReports: OtherReports;
};

/** Pages anyone may reach: the way in and the way out. */
const publicPaths = new Set([`${cimPath}/sign-in`, `${cimPath}/callback`, `${cimPath}/signed-out`]);

/**
 * Care Identity Management, the Registration Authority's pages under /cim. Every other page
 * needs a CIM session made by a CIS2 sign-in; every form post needs this session's form token.
 */
export function registerCimPages(app: FastifyInstance, options: CimOptions): void {
  const cim: Cim = {
    db: options.db,
    sealer: options.sealer,
    lists: options.lists,
    app: options.app,
    issuer: options.issuer,
    cis2: firstPartySignIn(app, options),
    otherReports: options.otherReports,
  };
  // Not awaited: the service's routes and error handler are all declared before plugins load.
  app.register(
    async (pages) => {
      await pages.register(fastifyCookie);
      pages.addHook("preHandler", async (request, reply) => {
        if (publicPaths.has(request.url.split("?")[0] ?? "")) return;
        if (!(await requireSession(cim, request, reply))) return reply;
        if (request.method === "POST" && !requireFormToken(request, reply)) return reply;
      });
      pages.setErrorHandler((error, request, reply) => renderDomainError(request, reply, error));
      registerSignInRoutes(pages, cim);
      registerProfileRoutes(pages, cim);
      registerProfileActionRoutes(pages, cim);
      registerSmartcardRoutes(pages, cim);
      registerCardLifeRoutes(pages, cim);
      registerOwnContactRoutes(pages, cim);
      registerPositionRoutes(pages, cim);
      registerAssignmentRoutes(pages, cim);
      registerRequestRoutes(pages, cim);
      registerReportRoutes(pages, cim);
      registerRelyingPartyRoutes(pages, cim, options.relyingParties);
      options.routes?.(pages, cim);
      registerWorkgroupRoutes(pages, cim);
      registerOrganisationRoutes(pages, cim);
      pages.get("/", async (request, reply) => {
        const user = signedIn(request);
        const places = [...new Set(user.holdings.map((holding) => holding.odsCode))];
        const mayCreate = await Promise.all(
          places.map((ods) => decide(cim.db, user.person.uuid, "profile.create", { ods })),
        );
        const canCreate = mayCreate.some((decision) => decision.allowed);
        return renderCimPage(request, reply, "dashboard.njk", {
          pageTitle: "Home",
          canCreate,
          ...(await worklistOf(cim, user.person.uuid)),
        });
      });
    },
    { prefix: cimPath },
  );
}

async function requireSession(cim: Cim, request: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const session = await findSession(cim.db, cim.sealer, cim.app, request.cookies[sessionCookie]);
  if (!session) {
    // A post without a session changes nothing; signing in again returns to a page, not the post.
    const next = request.method === "GET" ? request.url : `${cimPath}/`;
    reply.redirect(`${cimPath}/sign-in?next=${encodeURIComponent(next)}`, 303);
    return false;
  }
  const person = await findPerson(cim.db, session.uuid);
  if (person?.status !== "active") {
    await endSession(cim.db, session.tokenDigest);
    renderPublicPage(
      reply,
      "sign-in-problem.njk",
      { pageTitle: "You have been signed out", detail: "Your Care Identity profile is no longer active." },
      403,
    );
    return false;
  }
  setSignedIn(request, await signedInAs(cim.db, session, person));
  return true;
}

function requireFormToken(request: FastifyRequest, reply: FastifyReply): boolean {
  const { session } = signedIn(request);
  const token = (request.body as Record<string, unknown> | undefined)?.[formTokenField];
  if (!formTokenValid(session, token)) {
    request.log.warn("CIM refused a form post without this session's form token");
    renderCimPage(
      request,
      reply,
      "form-problem.njk",
      {
        pageTitle: "This form could not be sent",
        detail: "It did not come from a page of this service in your session. Nothing was changed.",
      },
      403,
    );
    return false;
  }
  return true;
}

/** A domain failure outside a form's own handling, as a page. */
function renderDomainError(request: FastifyRequest, reply: FastifyReply, error: unknown) {
  if (error instanceof ConflictError && error.field === "submissionId")
    return renderCimPage(
      request,
      reply,
      "form-problem.njk",
      {
        pageTitle: "This form was already sent",
        detail: "You sent this form twice; it was acted on once. Nothing more was changed.",
      },
      409,
    );
  if (isDatabaseUnavailable(error)) {
    reply.header("retry-after", String(retryAfterSeconds));
    const detail = `The service cannot reach its database for a moment. Try again in ${retryAfterSeconds} seconds. If you were saving a change, check whether it was saved before you send it again.`;
    return renderPublicPage(
      reply,
      "sign-in-problem.njk",
      { pageTitle: "Sorry, the service is unavailable", detail, requestId: request.id },
      503,
    );
  }
  const [status, pageTitle] =
    error instanceof ForbiddenError
      ? [403, "You cannot do this"]
      : error instanceof NotFoundError
        ? [404, "Not found"]
        : error instanceof InvalidInputError || error instanceof ConflictError
          ? [400, "There is a problem"]
          : error instanceof DomainError
            ? [422, "There is a problem"]
            : [500, "Sorry, there is a problem with the service"];
  if (status === 500) request.log.error({ err: error }, "CIM page failed");
  // Input refused before a form could show it beside its field: the error summary names it.
  const errorList =
    error instanceof InvalidInputError
      ? error.problems.map((problem) => ({ text: problem.message }))
      : undefined;
  const detail = errorList ? "" : error instanceof DomainError ? error.message : "Try again later.";
  const context = { pageTitle, detail, errorList, requestId: request.id };
  try {
    return renderCimPage(request, reply, "form-problem.njk", context, status);
  } catch {
    return renderPublicPage(reply, "sign-in-problem.njk", context, status);
  }
}
