import type { FastifyInstance } from "fastify";
import { InvalidInputError } from "../../errors.ts";
import { type Decision, decideEach, type RegistrationAction } from "../../ra-policy/policy.ts";
import { criteriaFor } from "../profile-view.ts";
import { findProfiles, profileDetails } from "../profiles.ts";
import { openRequestsAbout } from "../requests.ts";
import { type Cim, displayName, errorsFrom, renderCimPage, signedIn } from "./context.ts";
import { namesFor } from "./names.ts";
import { searchFromBox, searchFromForm } from "./profile-reads.ts";
import { requestSummary } from "./request-words.ts";

export const profileLabels: Record<string, string> = {
  q: "Search",
  name: "Name",
  uuid: "UUID",
  email: "Email address",
  niNumber: "National Insurance number",
  dateOfBirth: "Date of birth",
  odsCode: "Organisation code",
};

/** The criteria the one search box takes; the others have boxes of their own. */
const boxCriteria = new Set(["q", "name", "uuid", "email", "niNumber"]);

/** What the policy lets the signed-in user do to a profile: "direct", "request" or absent. */
async function allowedActions(
  cim: Cim,
  actorUuid: string,
  actions: RegistrationAction[],
  target: { uuid?: string; ods?: string },
): Promise<Record<string, "direct" | "request">> {
  const allowed: Record<string, "direct" | "request"> = {};
  const decisions = await decideEach(cim.db, actorUuid, actions, target);
  actions.forEach((action, index) => {
    const decision = decisions[index] as Decision;
    if (decision.allowed) allowed[action] = decision.byRequest ? "request" : "direct";
  });
  return allowed;
}

/** Find a profile, and view one: details, positions, authenticators and history. */
export function registerProfileRoutes(app: FastifyInstance, cim: Cim): void {
  app.get("/profiles", async (request, reply) => {
    const input = request.query as Record<string, unknown>;
    const viewer = signedIn(request).person.uuid;
    // The boxes shown are the criteria the viewer may search by; a refused one is a 403 page.
    const criteria = Object.fromEntries(criteriaFor(signedIn(request).holdings).map((name) => [name, true]));
    const searched = Object.keys(input).length > 0;
    if (!searched)
      return renderCimPage(request, reply, "find.njk", { pageTitle: "Find a profile", values: {}, criteria });
    try {
      const search = searchFromForm(searchFromBox(input, criteria));
      const results = await findProfiles(cim.db, viewer, search);
      return renderCimPage(request, reply, "find.njk", {
        pageTitle: "Find a profile",
        values: { ...input, ...search, q: input.q },
        criteria,
        searched: Object.keys(search),
        results,
      });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return renderCimPage(
        request,
        reply,
        "find.njk",
        {
          pageTitle: "Find a profile",
          values: input,
          criteria,
          // Whatever the search was typed as, its problem shows at the one search box.
          ...errorsFrom(error.problems, profileLabels, (field) => (boxCriteria.has(field) ? "q" : field)),
        },
        400,
      );
    }
  });

  app.get("/profiles/:uuid", async (request, reply) => {
    const { uuid } = request.params as { uuid: string };
    const actor = signedIn(request).person.uuid;
    // Only what the viewer may see of the person (profile-fields.json); the page shows what is there.
    const person = await profileDetails(cim.db, actor, uuid);
    const allowed = await allowedActions(
      cim,
      actor,
      [
        "profile.change-details",
        person.status === "closed" ? "profile.reopen" : "profile.close",
        "position.assign",
        "authenticator.issue",
        "authenticator.remove",
        "smartcard.issue",
        "smartcard.unlock",
        "smartcard.renew-near-expiry",
        "smartcard.cancel",
        "smartcard.repair",
        "smartcard.clear",
      ],
      { uuid },
    );
    const assignments = [];
    for (const assignment of person.positions ?? []) {
      const target = {
        uuid,
        ods: assignment.odsCode,
        positionDefinition: assignment.positionDefinitionId ?? undefined,
      };
      const changes = await allowedActions(cim, actor, ["position.edit-dates", "position.remove"], target);
      assignments.push({
        ...assignment,
        changeable: assignment.status === "active" && Object.keys(changes).length > 0,
      });
    }
    const pending = person.positions ? await openRequestsAbout(cim.db, actor, uuid) : [];
    const names = await namesFor(cim.db, cim.lists, {
      people: [
        ...(person.history ?? []).map((event) => event.actorId),
        ...pending.map((item) => item.requestedBy),
      ],
      organisations: [
        person.registeringOdsCode,
        ...assignments.map((assignment) => assignment.odsCode),
        ...pending.map((item) => item.odsCode),
      ],
      definitions: pending.map((item) => item.positionDefinitionId),
      roleProfiles: (person.history ?? []).map((event) => event.actorRoleId),
    });
    return renderCimPage(request, reply, "profile.njk", {
      pageTitle: displayName(person),
      names,
      pending: pending.map((item) => ({
        ...item,
        summary: requestSummary(item, names),
        requester: item.requestedBy ? names.person(item.requestedBy) : `From ${item.source}`,
      })),
      person,
      assignments: person.positions && assignments,
      authenticators: person.authenticators,
      smartcards: person.smartcards,
      history: person.history,
      allowed,
    });
  });
}
