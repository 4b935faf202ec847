import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Actor } from "../../audit/actor.ts";
import { ForbiddenError, InvalidInputError } from "../../errors.ts";
import { messageState } from "../../messaging/outbox.ts";
import type { Queryable } from "../../store/database.ts";
import { pageRenderer } from "../../web/pages.ts";
import {
  checkSelfUnlockCode,
  completeSelfUnlock,
  releaseSelfUnlockCode,
  SelfUnlockRefusal,
  type SelfUnlockSettings,
  selfUnlockRules,
  startSelfUnlock,
} from "./self-unlock.ts";

const { renderPage } = pageRenderer([new URL("./views/", import.meta.url).pathname]);

/** What each refusal is called on its page. */
const refusalTitles: Record<SelfUnlockRefusal["reason"], string> = {
  "unknown-card": "We do not know this smartcard",
  "card-withdrawn": "This smartcard cannot be unlocked",
  "card-expired": "This smartcard needs a repair",
  "card-not-issued": "This smartcard has not been issued",
  "profile-closed": "This smartcard's profile is not active",
  "no-contact": "We have nowhere to send a code",
  "too-many-requests": "Too many unlock codes asked for",
  "attempt-unknown": "Start again",
  "code-wrong": "The code is not right",
  "code-expired": "The code has expired",
  "code-used": "The code has been used",
  "tries-used": "Too many wrong codes",
  "ticket-refused": "Start again",
  "other-card": "This is another smartcard",
};

/** How long the page waits for the code's first delivery attempt before it shows the code page. */
const deliveryWaitMilliseconds = 3000;

/**
 * Self-service smartcard unlock: the public pages (/smartcard/unlock) and the two calls only the
 * agent makes. A browser always sends Origin on a POST; the agent, a program, does not: the
 * release refuses any request that carries one, so no page can be handed a card's unlock code.
 */
export async function registerSelfUnlock(
  app: FastifyInstance,
  queryable: Queryable,
  settings: SelfUnlockSettings & { agentUrl: string },
): Promise<void> {
  await app.register(fastifyStatic, {
    root: new URL("./browser/", import.meta.url).pathname,
    prefix: "/smartcard/scripts/",
    decorateReply: false,
    maxAge: "1h",
  });
  const actor = (request: FastifyRequest, source: string): Actor => ({
    kind: "system",
    id: "self-service-unlock",
    source,
    correlationId: request.id,
  });
  const form = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>;
  const noStore = (reply: FastifyReply) => reply.header("cache-control", "no-store");
  const refused = (reply: FastifyReply, error: SelfUnlockRefusal) =>
    renderPage(
      noStore(reply),
      "unlock/refused.njk",
      {
        pageTitle: refusalTitles[error.reason],
        reason: error.reason,
        message: error.message,
        retryAtText: error.retryAt?.toISOString().replace("T", " ").slice(0, 16).concat(" UTC"),
      },
      error.reason === "too-many-requests" ? 429 : error.reason === "unknown-card" ? 404 : 422,
    );

  app.get("/smartcard/unlock", async (_request, reply) =>
    renderPage(noStore(reply), "unlock/start.njk", {
      pageTitle: "Unlock your smartcard",
      agentUrl: settings.agentUrl,
      emailDomains: settings.emailDomains.join(" or "),
    }),
  );

  app.post("/smartcard/unlock", async (request, reply) => {
    const body = form(request);
    try {
      const started = await startSelfUnlock(queryable, settings, actor(request, "SELF_SERVICE"), {
        cardSerial: body.cardSerial,
        channel: body.channel === "sms" ? "sms" : "email",
      });
      return renderPage(noStore(reply), "unlock/code.njk", {
        pageTitle: "Enter the code we sent you",
        attempt: started.token,
        cardSerial: started.cardSerial,
        to: started.maskedRecipient,
        minutes: selfUnlockRules.codeMinutes,
        delivery: await firstDelivery(queryable, started.messageId),
      });
    } catch (error) {
      if (error instanceof SelfUnlockRefusal) return refused(reply, error);
      if (error instanceof InvalidInputError)
        return refused(
          reply,
          new SelfUnlockRefusal(
            "unknown-card",
            "We could not read your smartcard. Put it in the reader and start again.",
          ),
        );
      throw error;
    }
  });

  app.post("/smartcard/unlock/code", async (request, reply) => {
    const body = form(request);
    try {
      const { ticket, cardSerial } = await checkSelfUnlockCode(queryable, actor(request, "SELF_SERVICE"), {
        token: body.attempt,
        code: body.code,
      });
      return renderPage(noStore(reply), "unlock/passcode.njk", {
        pageTitle: "Choose a new passcode",
        ticket,
        cardSerial,
        agentUrl: settings.agentUrl,
      });
    } catch (error) {
      if (error instanceof SelfUnlockRefusal && error.reason === "code-wrong")
        return renderPage(
          noStore(reply),
          "unlock/code.njk",
          {
            pageTitle: "Enter the code we sent you",
            attempt: body.attempt,
            error: error.message,
            errorList: [{ text: error.message, href: "#main-field" }],
          },
          422,
        );
      if (error instanceof SelfUnlockRefusal) return refused(reply, error);
      throw error;
    }
  });

  app.get("/smartcard/unlock/done", async (_request, reply) =>
    renderPage(noStore(reply), "unlock/done.njk", { pageTitle: "Your smartcard is unlocked" }),
  );

  const agentOnly = (request: FastifyRequest) => {
    if (request.headers.origin !== undefined)
      throw new ForbiddenError("Only the smartcard agent may ask for a card's unlock code, never a web page");
    const body = request.body;
    if (typeof body !== "object" || body === null || Array.isArray(body))
      throw InvalidInputError.field("body", "must be a JSON object");
    return body as Record<string, unknown>;
  };

  app.post("/api/smartcards/self-unlock/release", async (request, reply) => {
    const body = agentOnly(request);
    const released = await releaseSelfUnlockCode(queryable, settings.sealer, actor(request, "AGENT"), {
      ticket: body.ticket,
      cardSerial: body.cardSerial,
    });
    return reply.header("cache-control", "no-store").send(released);
  });

  app.post("/api/smartcards/self-unlock/complete", async (request) => {
    const body = agentOnly(request);
    return completeSelfUnlock(queryable, actor(request, "AGENT"), {
      ticket: body.ticket,
      cardSerial: body.cardSerial,
    });
  });
}

/** Waits briefly for the worker's first attempt, so the page can say if the code could not go. */
async function firstDelivery(
  queryable: Queryable,
  messageId: string,
): Promise<"sent" | "delayed" | "failed" | "queued"> {
  const until = Date.now() + deliveryWaitMilliseconds;
  for (;;) {
    const state = await messageState(queryable, messageId);
    if (state?.status === "sent" || state?.status === "failed") return state.status;
    if (state?.lastError) return "delayed";
    if (Date.now() >= until) return "queued";
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
