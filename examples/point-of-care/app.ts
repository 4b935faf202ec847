import { readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { AuthorizationResponseError } from "openid-client";
import { Cis2Client, SignInRefused } from "./cis2.ts";
import { problemPage, signedInPage, signedOutPage } from "./pages.ts";
import { Sessions } from "./sessions.ts";
import type { Settings } from "./settings.ts";

/**
 * A tiny point-of-care web app that signs its users in with CIS2 Authentication. It keeps its
 * own sessions (a random id in a signed cookie, the rest in memory) and ends one when the user
 * signs out here or when CIS2 sends a back-channel logout token for it.
 */
export type PointOfCare = { app: FastifyInstance; url: string; sessions: Sessions; close(): Promise<void> };

const sessionCookie = "poc_session";
const signInCookie = "poc_signin";
const stylesheet = import.meta.resolve("nhsuk-frontend/dist/nhsuk/nhsuk-frontend.min.css");

export async function startPointOfCare(settings: Settings): Promise<PointOfCare> {
  const sessions = new Sessions();
  const cis2 = new Cis2Client(settings);
  const app = Fastify();
  const log = (message: string, detail?: unknown) => {
    if (!settings.quiet) console.log(new Date().toISOString(), message, JSON.stringify(detail) ?? "");
  };
  // Known once listening: with PORT 0 the port is picked then.
  let baseUrl = settings.baseUrl ?? "";
  const secure = () => baseUrl.startsWith("https:");

  // Opened at another name of the same address (127.0.0.1 for localhost), the app would keep
  // its cookies apart from its redirect URI's: a page is sent to the base URL's name first.
  if (settings.baseUrl)
    app.addHook("onRequest", async (request, reply) => {
      const base = new URL(baseUrl);
      if (request.method !== "GET" || !URL.canParse(`http://${request.host}`)) return;
      const asked = new URL(`http://${request.host}`);
      if (asked.hostname !== base.hostname && asked.port === base.port && base.hostname === "localhost")
        return reply.redirect(`${base.origin}${request.url}`, 308);
    });

  await app.register(fastifyCookie, { secret: settings.cookieSecret });
  await app.register(fastifyFormbody);

  app.addHook("onSend", async (_request, reply) => {
    reply.header(
      "content-security-policy",
      `default-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self' ${new URL(settings.issuer).origin}; frame-ancestors 'none'`,
    );
    reply.header("x-content-type-options", "nosniff");
    reply.header("referrer-policy", "no-referrer");
  });

  const page = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).header("cache-control", "no-store").type("text/html; charset=utf-8").send(body);

  const readSigned = (request: FastifyRequest, name: string): string | undefined => {
    const raw = request.cookies[name];
    if (!raw) return undefined;
    const unsigned = request.unsignCookie(raw);
    return unsigned.valid && unsigned.value ? unsigned.value : undefined;
  };

  app.get("/", async (request, reply) => {
    const cookie = readSigned(request, sessionCookie);
    const session = sessions.find(cookie);
    if (session) return page(reply, 200, signedInPage(session.user, session.csrf));
    if (cookie) {
      // The cookie outlived its session: signed out here, or ended by CIS2 through back-channel logout.
      reply.clearCookie(sessionCookie, { path: "/" });
      return page(reply, 200, signedOutPage("You are signed out. Sign in again to carry on."));
    }
    return page(reply, 200, signedOutPage());
  });

  app.get("/login", async (_request, reply) => {
    let started: Awaited<ReturnType<Cis2Client["startSignIn"]>>;
    try {
      started = await cis2.startSignIn(`${baseUrl}/callback`);
    } catch (error) {
      log("CIS2 discovery failed:", (error as Error).message);
      return page(
        reply,
        502,
        problemPage("Care Identity sign-in is not available", `CIS2 at ${settings.issuer} did not answer.`),
      );
    }
    reply.setCookie(signInCookie, sessions.savePending(started.pending), {
      path: "/callback",
      httpOnly: true,
      sameSite: "lax",
      secure: secure(),
      signed: true,
      maxAge: 600,
    });
    return reply.redirect(started.url.href, 302);
  });

  app.get("/callback", async (request, reply) => {
    const pending = sessions.takePending(readSigned(request, signInCookie));
    reply.clearCookie(signInCookie, { path: "/callback" });
    if (!pending) {
      return page(
        reply,
        400,
        problemPage("Sign-in did not complete", "This sign-in expired or was not started here. Start again."),
      );
    }
    try {
      const user = await cis2.finishSignIn(new URL(request.url, baseUrl), pending);
      const session = sessions.start(user);
      log("signed in:", { sub: user.sub, sid: user.sid, role: user.selectedRole?.person_roleid });
      reply.setCookie(sessionCookie, session.id, {
        path: "/",
        httpOnly: true,
        sameSite: "lax",
        secure: secure(),
        signed: true,
      });
      return reply.redirect("/", 303);
    } catch (error) {
      if (error instanceof SignInRefused) {
        return page(reply, 403, problemPage("You cannot use this service", error.message));
      }
      if (error instanceof AuthorizationResponseError) {
        return page(
          reply,
          403,
          problemPage(
            "Sign-in did not complete",
            `${error.error_description ?? "CIS2 refused"} (${error.error})`,
          ),
        );
      }
      log("sign-in failed:", (error as Error).message);
      return page(
        reply,
        400,
        problemPage(
          "Sign-in did not complete",
          `The answer from CIS2 was refused: ${(error as Error).message}`,
        ),
      );
    }
  });

  app.post("/logout", async (request, reply) => {
    const session = sessions.find(readSigned(request, sessionCookie));
    reply.clearCookie(sessionCookie, { path: "/" });
    if (!session) return reply.redirect("/", 303);
    if ((request.body as Record<string, unknown> | undefined)?.csrf !== session.csrf) {
      return page(reply, 403, problemPage("Sign out did not work", "Go back to the start and try again."));
    }
    sessions.end(session.id);
    // Ends the CIS2 session too, which signs the user out of every other service using it.
    try {
      const endSession = await cis2.endSessionUrl(session.user.idToken, `${baseUrl}/`);
      return reply.redirect(endSession.href, 303);
    } catch (error) {
      log("CIS2 discovery failed:", (error as Error).message);
      return page(
        reply,
        502,
        problemPage(
          "Signed out of this service",
          "CIS2 did not answer, so you may still be signed in to it.",
        ),
      );
    }
  });

  app.post("/backchannel-logout", async (request, reply) => {
    reply.header("cache-control", "no-store");
    const token = (request.body as Record<string, unknown> | undefined)?.logout_token;
    if (typeof token !== "string" || !token) {
      return reply.code(400).send({ error: "invalid_request", error_description: "logout_token is missing" });
    }
    try {
      const claims = await cis2.verifyLogoutToken(token);
      const ended = sessions.endFor(claims.sub, claims.sid);
      log("back-channel logout:", { sub: claims.sub, sid: claims.sid, sessionsEnded: ended });
      return reply.code(200).send();
    } catch (error) {
      log("refused a logout token:", (error as Error).message);
      return reply.code(400).send({ error: "invalid_request", error_description: (error as Error).message });
    }
  });

  app.get("/nhsuk-frontend.min.css", async (_request, reply) => {
    const css = await readFile(new URL(stylesheet));
    return reply.type("text/css; charset=utf-8").header("cache-control", "public, max-age=3600").send(css);
  });

  await app.listen({ port: settings.port, host: settings.host });
  const { port } = app.server.address() as AddressInfo;
  baseUrl ||= `http://${settings.host}:${port}`;
  return { app, url: baseUrl, sessions, close: () => app.close() };
}
