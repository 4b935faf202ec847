import type { FastifyInstance, FastifyReply } from "fastify";
import { methods } from "../../assurance/methods.ts";
import {
  type Form,
  type Interaction,
  interactionFor,
  type Params,
  page,
  pageOfMethod,
  renderPage,
  type SignInContext,
  usableFor,
} from "./journey.ts";

/** Several usable methods: the person chooses; only methods this sign-in accepts are listed. */
export function methodChoice(app: FastifyInstance, context: SignInContext): void {
  const { base } = context;
  app.get<{ Params: Params }>(`${base}/:uid/method`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    return showMethods(context, reply, interaction);
  });

  app.post<{ Params: Params; Body: Form }>(`${base}/:uid/method`, async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    const usable = await usableFor(context, interaction);
    const chosen = usable.find((method) => method === request.body?.method);
    if (!chosen) return showMethods(context, reply, interaction, "Choose how you want to sign in");
    return reply.redirect(`${base}/${interaction.uid}/${pageOfMethod[chosen]}`, 303);
  });
}

async function showMethods(
  context: SignInContext,
  reply: FastifyReply,
  interaction: Interaction,
  error?: string,
) {
  const items = (await usableFor(context, interaction)).map((method) => ({
    value: method,
    text: methods[method].label,
  }));
  return renderPage(
    reply,
    "method.njk",
    page(interaction, "How do you want to sign in?", { items, error }),
    error ? 400 : 200,
  );
}
