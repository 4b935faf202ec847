import type { FastifyInstance, FastifyRequest } from "fastify";
import { changeOwnContact } from "../profile-changes.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, formOf } from "./form-actions.ts";

/** Everyone signed in may change their own email address and mobile number. */
export function registerOwnContactRoutes(app: FastifyInstance, cim: Cim): void {
  const changing = async (request: FastifyRequest) => ({
    pageTitle: "Your contact details",
    person: signedIn(request).person,
  });

  app.get("/me/contact", async (request, reply) => {
    const context = await changing(request);
    return renderCimPage(request, reply, "own-contact.njk", { values: context.person, ...context });
  });

  app.post("/me/contact", async (request, reply) => {
    const form = formOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        await changeOwnContact(cim.db, actorOf(request), {
          ...commonOf(request),
          email: form.email || undefined,
          mobile: form.mobile || undefined,
        });
        return "/cim/me/contact?done=contact-changed";
      },
      {
        view: "own-contact.njk",
        context: () => changing(request),
        labels: { email: "Email address", mobile: "Mobile" },
      },
    );
  });
}
