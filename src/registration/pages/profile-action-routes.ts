import type { FastifyInstance, FastifyRequest } from "fastify";
import { enrolmentChoices, enrolmentPath } from "../../authenticators/enrolment/pages.ts";
import { getPerson } from "../../people/people.ts";
import { issueAuthenticatorLink, removeAuthenticator } from "../authenticators.ts";
import { closeProfile, reopenProfile } from "../closure.ts";
import { documentKinds } from "../identity-checks.ts";
import { changeDetails } from "../profile-changes.ts";
import { createProfile } from "../profiles.ts";
import { actorOf, type Cim, displayName, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, dateFrom, type Form, formOf } from "./form-actions.ts";
import { profileLabels } from "./profile-routes.ts";

const detailLabels: Record<string, string> = {
  ...profileLabels,
  title: "Title",
  givenName: "Given name",
  middleNames: "Middle names",
  familyName: "Family name",
  dateOfBirth: "Date of birth",
  mobile: "Mobile",
  reason: "Reason",
  search: "Search",
  "identityChecks.documents": "Identity documents",
  "identityChecks.confirmed": "Confirmation:",
};
for (const index of [0, 1, 2]) {
  const document = `identityChecks.documents[${index}]`;
  detailLabels[`${document}.kind`] = `Document ${index + 1} kind`;
  detailLabels[`${document}.reference`] = `Document ${index + 1} number`;
  detailLabels[`${document}.nameOnDocument`] = `Name on document ${index + 1}`;
  detailLabels[`${document}.expiresOn`] = `Document ${index + 1} expiry date`;
}

const documentChoices = Object.entries(documentKinds).map(([value, kind]) => ({ value, text: kind.label }));

function personFields(form: Form) {
  return {
    title: form.title || undefined,
    givenName: form.givenName,
    middleNames: form.middleNames || undefined,
    familyName: form.familyName,
    dateOfBirth: dateFrom(form, "dateOfBirth"),
    niNumber: form.niNumber || undefined,
    email: form.email || undefined,
    mobile: form.mobile || undefined,
  };
}

function identityChecksFrom(form: Form) {
  return {
    documents: [0, 1, 2].map((index) => ({
      kind: form[`document${index}Kind`],
      reference: form[`document${index}Reference`],
      nameOnDocument: form[`document${index}Name`] || undefined,
      expiresOn: dateFrom(form, `document${index}Expires`),
    })),
    confirmed: form.confirmed === "yes",
  };
}

/** Create a profile, change its details, close and reopen it, and issue or remove authenticators. */
export function registerProfileActionRoutes(app: FastifyInstance, cim: Cim): void {
  const uuidOf = (request: FastifyRequest) => (request.params as { uuid: string }).uuid;
  const creating = async (request: FastifyRequest) => ({
    pageTitle: "Create a profile",
    documentChoices,
    organisations: [...new Set(signedIn(request).holdings.map((holding) => holding.odsCode))],
  });

  app.get("/profiles/new", async (request, reply) =>
    renderCimPage(request, reply, "create-profile.njk", { values: {}, ...(await creating(request)) }),
  );

  app.post("/profiles/new", async (request, reply) => {
    const form = formOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        const person = await createProfile(cim.db, actorOf(request), {
          ...commonOf(request),
          ...personFields(form),
          odsCode: form.odsCode,
          identityChecks: identityChecksFrom(form),
          notDuplicateOf: form.notDuplicateOf ? form.notDuplicateOf.split(",") : undefined,
        });
        return `/cim/profiles/${person.uuid}?done=created`;
      },
      {
        view: "create-profile.njk",
        context: () => creating(request),
        labels: detailLabels,
        // A likely duplicate is answered in the box that lists the profiles checked to be someone else.
        fieldOf: (field) => (field === "duplicate" ? "notDuplicateOf" : field),
      },
    );
  });

  const changing = async (request: FastifyRequest) => {
    const person = await getPerson(cim.db, uuidOf(request));
    return { pageTitle: `Change ${displayName(person)}'s details`, person };
  };

  app.get("/profiles/:uuid/change", async (request, reply) => {
    const context = await changing(request);
    return renderCimPage(request, reply, "change-details.njk", { values: context.person, ...context });
  });

  app.post("/profiles/:uuid/change", async (request, reply) => {
    const form = formOf(request);
    const before = await getPerson(cim.db, uuidOf(request));
    const fields = personFields(form);
    // Only what the RA changed is sent, so an untouched field is not "changed" to itself.
    const changes = Object.fromEntries(
      Object.entries(fields).filter(
        ([field, value]) => (value ?? null) !== (before[field as keyof typeof before] ?? null),
      ),
    );
    return actOnForm(
      request,
      reply,
      async () => {
        const outcome = await changeDetails(cim.db, actorOf(request), {
          ...commonOf(request),
          uuid: before.uuid,
          changes,
        });
        return `/cim/profiles/${before.uuid}?done=${outcome.outcome === "requested" ? "requested" : "changed"}`;
      },
      {
        view: "change-details.njk",
        context: () => changing(request),
        labels: detailLabels,
        fieldOf: (field) => (field === "changes" ? "givenName" : field),
      },
    );
  });

  for (const [path, act, done] of [
    ["close", closeProfile, "closed"],
    ["reopen", reopenProfile, "reopened"],
  ] as const) {
    const context = async (request: FastifyRequest) => {
      const person = await getPerson(cim.db, uuidOf(request));
      return {
        pageTitle: `${path === "close" ? "Close" : "Reopen"} ${displayName(person)}'s profile`,
        person,
        closing: path === "close",
      };
    };
    app.get(`/profiles/:uuid/${path}`, async (request, reply) =>
      renderCimPage(request, reply, "close-profile.njk", { values: {}, ...(await context(request)) }),
    );
    app.post(`/profiles/:uuid/${path}`, async (request, reply) =>
      actOnForm(
        request,
        reply,
        async () => {
          const outcome = await act(cim.db, actorOf(request), {
            ...commonOf(request),
            uuid: uuidOf(request),
          });
          return `/cim/profiles/${uuidOf(request)}?done=${outcome.outcome === "requested" ? "requested" : done}`;
        },
        { view: "close-profile.njk", context: () => context(request), labels: detailLabels },
      ),
    );
  }

  app.post("/profiles/:uuid/authenticators/link", async (request, reply) => {
    const uuid = uuidOf(request);
    const linkBase = `${request.protocol}://${request.host}${enrolmentPath}`;
    const byEmail = (request.body as Record<string, unknown> | undefined)?.send === "email";
    const { token, expiresAt, sentTo } = await issueAuthenticatorLink(cim.db, actorOf(request), {
      ...commonOf(request),
      uuid,
      email: byEmail ? { sealer: cim.sealer, linkBase } : undefined,
    });
    const person = await getPerson(cim.db, uuid);
    return renderCimPage(request, reply, "enrolment-link.njk", {
      pageTitle: sentTo ? "Enrolment link sent" : "Enrolment link issued",
      person,
      sentTo,
      link: sentTo ? undefined : `${linkBase}/${token}`,
      expiresAt,
      choices: await enrolmentChoices(cim.db),
    });
  });

  const removing = async (request: FastifyRequest) => {
    const person = await getPerson(cim.db, uuidOf(request));
    return {
      pageTitle: `Remove an authenticator from ${displayName(person)}`,
      person,
      authenticatorId: authenticatorOf(request),
    };
  };
  const authenticatorOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  app.get("/profiles/:uuid/authenticators/:id/remove", async (request, reply) =>
    renderCimPage(request, reply, "remove-authenticator.njk", { values: {}, ...(await removing(request)) }),
  );

  app.post("/profiles/:uuid/authenticators/:id/remove", async (request, reply) =>
    actOnForm(
      request,
      reply,
      async () => {
        const uuid = uuidOf(request);
        await removeAuthenticator(cim.db, actorOf(request), {
          ...commonOf(request),
          uuid,
          authenticatorId: authenticatorOf(request),
        });
        return `/cim/profiles/${uuid}?done=authenticator-removed`;
      },
      { view: "remove-authenticator.njk", context: () => removing(request), labels: detailLabels },
    ),
  );
}
