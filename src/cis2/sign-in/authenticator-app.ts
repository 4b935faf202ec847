import type { FastifyInstance } from "fastify";
import { recordEvent } from "../../audit/record.ts";
import { checkPassword } from "../../authenticators/password/passwords.ts";
import { giveBack, signInCounters, takeAttempt } from "../../authenticators/throttle.ts";
import { checkTotpSignIn, wrongPasswordOrCode } from "../../authenticators/totp/app-authenticators.ts";
import { InvalidInputError } from "../../errors.ts";
import { type Db, inTransaction } from "../../store/database.ts";
import {
  everyLimit,
  type Form,
  interactionFor,
  journeyActor,
  type Params,
  page,
  renderPage,
  type SignInContext,
  type SigningIn,
  signingInOf,
  tooManyAttempts,
  usableFor,
} from "./journey.ts";
import { signedIn } from "./signed-in.ts";

/**
 * The password is the app's first factor: a wrong one is slowed by the back-off and counted
 * against the day's cap; only a wrong code sent with the right password counts towards the
 * app's own lock (and the cap), so knowing a UUID is not enough to lock someone out.
 */
export function authenticatorApp(app: FastifyInstance, context: SignInContext): void {
  const { db, base } = context;
  app.get<{ Params: Params }>(`${base}/:uid/app`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const { identifier } = signingInOf(interaction);
    return renderPage(
      reply,
      "authenticator-app.njk",
      page(interaction, "Use your authenticator app", { identifier }),
    );
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/app`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const signingIn = signingInOf(interaction);
    const { identifier, uuid } = signingIn;
    const actor = journeyActor(interaction, uuid);
    const attempt = await takeAttempt(db, actor, signInCounters.password(signingIn.account, request.ip));
    if (!attempt.allowed) return tooManyAttempts(context, reply, interaction, attempt, "app");
    if (!(await usableFor(context, interaction)).includes("TOTP")) {
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
      : await refuseUnknown(db, signingIn, password);
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
    return signedIn(context, request, reply, interaction, { uuid, method: "TOTP" });
  });
}

/** An unknown identifier's guess at the app: the same Argon2id work, and a wrong guess's words. */
async function refuseUnknown(db: Db, signingIn: SigningIn, password: string) {
  await checkPassword(db, signingIn.account.key, password);
  return { accepted: false as const, message: wrongPasswordOrCode, passwordMatched: false };
}

/** The app page's boxes left empty, each with what to enter. */
function missingAppFields(password: string, code: string): { field: string; text: string }[] {
  return [
    ...(password ? [] : [{ field: "main-field", text: "Enter your password" }]),
    ...(code.trim() ? [] : [{ field: "code", text: "Enter the 6-digit code" }]),
  ];
}
