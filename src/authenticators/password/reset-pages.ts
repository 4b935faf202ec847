import type { FastifyInstance, FastifyReply } from "fastify";
import { InvalidInputError } from "../../errors.ts";
import type { Sealer } from "../../secrets/sealed.ts";
import type { Db } from "../../store/database.ts";
import { renderPage } from "../../web/pages.ts";
import { cookiesOf } from "../account/pages.ts";
import { completePasswordReset, requestPasswordReset, resetSettings } from "./reset.ts";

export const passwordResetPath = "/authenticators/password-reset";
const resetCookie = "careid_reset";
type Form = Record<string, string | undefined>;

/** "Forgotten your password?": ask for a code by email, then enter it with an app code and a new password. */
export function registerPasswordResetPages(app: FastifyInstance, context: { db: Db; sealer: Sealer }): void {
  const { db, sealer } = context;

  app.get(passwordResetPath, async (_request, reply) => showAsk(reply));

  app.post<{ Body: Form }>(passwordResetPath, async (request, reply) => {
    let token: string;
    try {
      ({ token } = await requestPasswordReset(db, sealer, request.body?.identifier ?? "", request.id));
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return showAsk(reply, error.problems[0]?.message);
    }
    reply.header(
      "set-cookie",
      `${resetCookie}=${token}; Path=${passwordResetPath}; Max-Age=${resetSettings.codeMinutes * 60}; HttpOnly; SameSite=Strict`,
    );
    return showConfirm(reply);
  });

  app.post<{ Body: Form }>(`${passwordResetPath}/confirm`, async (request, reply) => {
    try {
      await completePasswordReset(
        db,
        sealer,
        {
          token: cookiesOf(request)[resetCookie] ?? "",
          emailCode: request.body?.emailCode ?? "",
          appCode: request.body?.appCode ?? "",
          password: request.body?.password ?? "",
          confirmation: request.body?.confirmation ?? "",
        },
        request.id,
      );
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return showConfirm(reply, error.problems[0]?.message);
    }
    reply.header(
      "set-cookie",
      `${resetCookie}=; Path=${passwordResetPath}; Max-Age=0; HttpOnly; SameSite=Strict`,
    );
    return renderPage(reply, "authenticators/password-reset-done.njk", {
      pageTitle: "Your password has been changed",
    });
  });

  function showAsk(reply: FastifyReply, error?: string) {
    return renderPage(
      reply,
      "authenticators/password-reset.njk",
      {
        pageTitle: "Reset your password",
        error,
        errorList: error ? [{ text: error, href: "#main-field" }] : undefined,
      },
      error ? 400 : 200,
    );
  }

  function showConfirm(reply: FastifyReply, error?: string) {
    return renderPage(
      reply,
      "authenticators/password-reset-confirm.njk",
      {
        pageTitle: "Enter your codes and a new password",
        minutes: resetSettings.codeMinutes,
        error,
        errorList: error ? [{ text: error, href: "#main-field" }] : undefined,
      },
      error ? 400 : 200,
    );
  }
}
