import type { FastifyInstance } from "fastify";
import { checkPassword } from "../../authenticators/password/passwords.ts";
import { giveBack, signInCounters, takeAttempt } from "../../authenticators/throttle.ts";
import {
  everyLimit,
  type Form,
  interactionFor,
  journeyActor,
  type Params,
  page,
  renderPage,
  type SignInContext,
  signingInOf,
  tooManyAttempts,
  usableFor,
} from "./journey.ts";
import { signedIn } from "./signed-in.ts";

/** The development login: wrong passwords back off, and count against the day's cap. */
export function password(app: FastifyInstance, context: SignInContext): void {
  const { db, base } = context;
  app.get<{ Params: Params }>(`${base}/:uid/password`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const { identifier } = signingInOf(interaction);
    return renderPage(reply, "password.njk", page(interaction, "Enter your password", { identifier }));
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/password`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const signingIn = signingInOf(interaction);
    const { identifier, uuid } = signingIn;
    const attempt = await takeAttempt(
      db,
      journeyActor(interaction, uuid),
      signInCounters.password(signingIn.account, request.ip),
    );
    if (!attempt.allowed) return tooManyAttempts(context, reply, interaction, attempt, "password");
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
    const allowed = (await usableFor(context, interaction)).includes("pwd");
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
    return signedIn(context, request, reply, interaction, { uuid, method: "pwd" });
  });
}
