import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type Provider from "oidc-provider";
import { aalOf, methods } from "../assurance/methods.ts";
import { signInPath } from "../cis2/provider.ts";
import {
  completeAuthentication,
  refuseSignIn,
  requestedClasses,
  usableMethods,
} from "../cis2/sign-in/complete.ts";
import { interactionFor } from "../cis2/sign-in/journey.ts";
import type { Db } from "../store/database.ts";
import { pageRenderer } from "../web/pages.ts";
import type { LoadedPersona } from "./persona-sync.ts";
import type { PersonaDirectory } from "./personas-watch.ts";

/**
 * Where the chooser lives: a step of the sign-in, under its path, as the interaction's cookie is.
 * Registered only by `careid sandbox`.
 */
export function chooserPath(uid: string): string {
  return `${signInPath}/${uid}/personas`;
}

const { renderPage } = pageRenderer([new URL("./views/", import.meta.url).pathname]);

type Params = { uid: string };
type Interaction = Awaited<ReturnType<Provider["interactionDetails"]>>;

/**
 * The persona chooser: in the sandbox, the sign-in's login step. Choosing a persona and one of
 * its authenticators ends the sign-in in the one completion function with that method, so acr,
 * amr, AAL and claims are those the real authenticator gives; a persona whose authenticators the
 * request does not accept is refused as the real identify step refuses it.
 */
export function registerPersonaChooser(
  app: FastifyInstance,
  context: { provider: () => Provider; db: Db; personas: PersonaDirectory },
): void {
  const { db } = context;
  const raw = (request: FastifyRequest, reply: FastifyReply) => ({ req: request.raw, res: reply.raw });

  app.get<{ Params: Params }>(chooserPath(":uid"), async (request, reply) => {
    const interaction = await interactionFor(context.provider(), request, reply);
    if (interaction.prompt.name !== "login") return reply.redirect(`${signInPath}/${interaction.uid}`, 303);
    await context.personas.refresh();
    return showChooser(reply, interaction);
  });

  app.post<{ Params: Params; Body: Record<string, string | undefined> }>(
    chooserPath(":uid"),
    async (request, reply) => {
      const interaction = await interactionFor(context.provider(), request, reply);
      if (interaction.prompt.name !== "login") return reply.redirect(`${signInPath}/${interaction.uid}`, 303);
      const persona = context.personas.personas().find((entry) => entry.id === request.body?.persona);
      const method = persona?.authenticators.find((held) => held === request.body?.method);
      if (!persona || !method)
        return showChooser(reply, interaction, "Choose a persona and how they sign in");
      const usable = usableMethods(interaction, persona.authenticators, false);
      if (usable.length === 0) {
        // The real service's answer when nothing the person holds meets the request.
        const location = await refuseSignIn(context.provider(), db, raw(request, reply), interaction, {
          error: "access_denied",
          description:
            "the requested authentication assurance cannot be met by an authenticator this user holds",
          uuid: persona.uuid,
        });
        return reply.redirect(location, 303);
      }
      if (!usable.includes(method))
        return showChooser(
          reply,
          interaction,
          `The service asks for ${requestedClasses(interaction, false).join(" or ")}: ${methods[method].label} does not meet it`,
        );
      const location = await completeAuthentication(
        context.provider(),
        db,
        raw(request, reply),
        interaction,
        {
          uuid: persona.uuid,
          method,
          developmentLogin: false,
        },
      );
      return reply.redirect(location, 303);
    },
  );

  function showChooser(reply: FastifyReply, interaction: Interaction, error?: string) {
    const personas = context.personas.personas().map((persona) => choice(interaction, persona));
    return renderPage(
      reply,
      "personas.njk",
      {
        pageTitle: "Choose a persona to sign in as",
        uid: interaction.uid,
        action: chooserPath(interaction.uid),
        clientId: interaction.params.client_id,
        requested: requestedClasses(interaction, false).join(" "),
        personas,
        fileProblem: context.personas.problem(),
        personasFile: context.personas.path,
        error,
        errorList: error ? [{ text: error, href: "#personas" }] : undefined,
      },
      error ? 400 : 200,
    );
  }
}

/** What the chooser shows of a persona: each authenticator with its AAL, and whether this sign-in takes it. */
function choice(interaction: Interaction, persona: LoadedPersona) {
  const usable = usableMethods(interaction, persona.authenticators, false);
  return {
    id: persona.id,
    label: persona.label,
    uuid: persona.uuid,
    name: [persona.person.title, persona.person.givenName, persona.person.familyName]
      .filter(Boolean)
      .join(" "),
    positions: persona.positions.map((position) => `${position.jobRole} at ${position.odsCode}`),
    methods: persona.authenticators.map((method) => ({
      method,
      label: methods[method].label,
      aal: aalOf(method),
      usable: usable.includes(method),
    })),
    refused: usable.length === 0,
  };
}
