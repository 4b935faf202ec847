import type { FastifyInstance, FastifyRequest } from "fastify";
import { AuthorizationResponseError } from "openid-client";
import { findPerson } from "../../people/people.ts";
import { endSession, startSession } from "../../web/first-party/sessions.ts";
import { type PendingSignIn, SignInRefused } from "../../web/first-party/sign-in.ts";
import { overHttps } from "../../web/https.ts";
import { cimPath } from "./app.ts";
import { type Cim, renderCimPage, renderPublicPage, signedIn } from "./context.ts";

export const sessionCookie = "cim_session";
const pendingCookie = "cim_signin";

/** Only a path inside CIM may be returned to after signing in, never another site. */
function returnPath(value: unknown): string {
  return typeof value === "string" && /^\/cim\/[A-Za-z0-9/_?=&.%-]*$/.test(value) ? value : `${cimPath}/`;
}

/** Sign-in through CIS2, the callback, and sign-out through CIS2's RP-initiated logout. */
export function registerSignInRoutes(app: FastifyInstance, cim: Cim): void {
  app.get("/sign-in", async (request, reply) => {
    const next = returnPath((request.query as Record<string, unknown>).next);
    let started: Awaited<ReturnType<Cim["cis2"]["startSignIn"]>>;
    try {
      started = await cim.cis2.startSignIn();
    } catch (error) {
      request.log.warn({ err: error }, "CIM could not start a CIS2 sign-in");
      return renderPublicPage(
        reply,
        "sign-in-problem.njk",
        {
          pageTitle: "Sign-in is not available",
          detail:
            error instanceof SignInRefused
              ? error.message
              : "CIS2 Authentication did not answer. Try again later.",
        },
        502,
      );
    }
    // The browser must come back to the origin CIS2 redirects to, or it would lack this cookie.
    const callbackOrigin = new URL(started.url.searchParams.get("redirect_uri") ?? "").origin;
    if (originOf(request, cim.issuer) !== callbackOrigin)
      return reply.redirect(`${callbackOrigin}${cimPath}/sign-in?next=${encodeURIComponent(next)}`, 303);
    reply.setCookie(pendingCookie, cim.sealer.seal(JSON.stringify({ ...started.pending, next })), {
      path: `${cimPath}/callback`,
      httpOnly: true,
      sameSite: "lax",
      secure: overHttps(request, cim.issuer),
      maxAge: 600,
    });
    return reply.redirect(started.url.href, 303);
  });

  app.get("/callback", async (request, reply) => {
    const pending = readPending(cim, request.cookies[pendingCookie]);
    reply.clearCookie(pendingCookie, { path: `${cimPath}/callback`, secure: overHttps(request, cim.issuer) });
    const refuse = (detail: string, status = 403) =>
      renderPublicPage(reply, "sign-in-problem.njk", { pageTitle: "You could not sign in", detail }, status);
    if (!pending) return refuse("This sign-in expired or was not started here. Sign in again.", 400);
    try {
      const user = await cim.cis2.finishSignIn(new URL(request.url, originOf(request, cim.issuer)), pending);
      const person = await findPerson(cim.db, user.uuid);
      if (person?.status !== "active") return refuse("Your Care Identity profile is not active.");
      const token = await startSession(cim.db, cim.sealer, cim.app, user);
      reply.setCookie(sessionCookie, token, {
        path: cimPath,
        httpOnly: true,
        sameSite: "lax",
        secure: overHttps(request, cim.issuer),
      });
      return reply.redirect(pending.next, 303);
    } catch (error) {
      if (error instanceof SignInRefused) return refuse(error.message);
      if (error instanceof AuthorizationResponseError)
        return refuse(`${error.error_description ?? "CIS2 refused the sign-in"} (${error.error})`);
      request.log.warn({ err: error }, "CIM refused an answer from CIS2");
      return refuse("The answer from CIS2 Authentication could not be checked. Sign in again.", 400);
    }
  });

  app.get("/sign-out", async (request, reply) =>
    renderCimPage(request, reply, "sign-out.njk", { pageTitle: "Sign out" }),
  );

  app.post("/sign-out", async (request, reply) => {
    const { session } = signedIn(request);
    await endSession(cim.db, session.tokenDigest);
    reply.clearCookie(sessionCookie, { path: cimPath, secure: overHttps(request, cim.issuer) });
    // Ends the CIS2 session as well, and with it the user's other services.
    const endSessionUrl = await cim.cis2.endSessionUrl(cim.sealer.open(session.sealedIdToken));
    return reply.redirect(endSessionUrl.href, 303);
  });

  app.get("/signed-out", async (_request, reply) =>
    renderPublicPage(reply, "signed-out.njk", { pageTitle: "You have signed out" }),
  );
}

/** The origin the browser used: https behind TLS ended in front of the node (see web/https.ts). */
function originOf(request: FastifyRequest, issuer: string): string {
  return `${overHttps(request, issuer) ? "https" : request.protocol}://${request.host}`;
}

function readPending(cim: Cim, sealed: string | undefined): (PendingSignIn & { next: string }) | undefined {
  if (!sealed) return undefined;
  try {
    const pending = JSON.parse(cim.sealer.open(sealed)) as PendingSignIn & { next: string };
    return { ...pending, next: returnPath(pending.next) };
  } catch {
    return undefined;
  }
}
