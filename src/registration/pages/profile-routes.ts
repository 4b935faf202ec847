import type { FastifyInstance } from "fastify";
import { InvalidInputError } from "../../errors.ts";
import { getPerson } from "../../people/people.ts";
import { positionsOfPerson } from "../../rbac/positions.ts";
import { decide, type RegistrationAction } from "../policy.ts";
import { type Cim, displayName, errorsFrom, renderCimPage, signedIn } from "./context.ts";
import { authenticatorsOf, checkProfileQuery, findProfiles, historyOf } from "./profile-reads.ts";

export const profileLabels: Record<string, string> = {
  name: "Name",
  uuid: "UUID",
  email: "Email address",
  niNumber: "National Insurance number",
  ods: "Organisation code",
};

/** What the policy lets the signed-in user do to a profile: "direct", "request" or absent. */
export async function allowedActions(
  cim: Cim,
  actorUuid: string,
  actions: RegistrationAction[],
  target: { uuid?: string; ods?: string },
): Promise<Record<string, "direct" | "request">> {
  const allowed: Record<string, "direct" | "request"> = {};
  for (const action of actions) {
    const decision = await decide(cim.db, actorUuid, action, target);
    if (decision.allowed) allowed[action] = decision.byRequest ? "request" : "direct";
  }
  return allowed;
}

/** Find a profile, and view one: details, positions, authenticators and history. */
export function registerProfileRoutes(app: FastifyInstance, cim: Cim): void {
  app.get("/profiles", async (request, reply) => {
    const input = request.query as Record<string, unknown>;
    const searched = Object.keys(input).length > 0;
    if (!searched)
      return renderCimPage(request, reply, "find.njk", { pageTitle: "Find a profile", values: {} });
    try {
      const query = checkProfileQuery(input);
      const results = await findProfiles(cim.db, query);
      return renderCimPage(request, reply, "find.njk", {
        pageTitle: "Find a profile",
        values: query,
        results,
      });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      return renderCimPage(
        request,
        reply,
        "find.njk",
        { pageTitle: "Find a profile", values: input, ...errorsFrom(error.problems, profileLabels) },
        400,
      );
    }
  });

  app.get("/profiles/:uuid", async (request, reply) => {
    const { uuid } = request.params as { uuid: string };
    const person = await getPerson(cim.db, uuid);
    const actor = signedIn(request).person.uuid;
    const [positions, authenticators, history, allowed] = await Promise.all([
      positionsOfPerson(cim.db, cim.lists, uuid, { includeEnded: true }),
      authenticatorsOf(cim.db, uuid),
      historyOf(cim.db, uuid),
      allowedActions(
        cim,
        actor,
        [
          "profile.change-details",
          person.status === "closed" ? "profile.reopen" : "profile.close",
          "position.assign",
          "authenticator.issue",
          "authenticator.remove",
        ],
        { uuid },
      ),
    ]);
    const changeable = new Set<string>();
    for (const position of positions) {
      const target = { uuid, ods: position.odsCode };
      const allowedHere = await allowedActions(
        cim,
        actor,
        ["position.edit-dates", "position.remove"],
        target,
      );
      if (position.status === "active" && Object.keys(allowedHere).length > 0)
        changeable.add(position.roleProfileId);
    }
    const done = (request.query as Record<string, unknown>).done;
    return renderCimPage(request, reply, "profile.njk", {
      pageTitle: displayName(person),
      person,
      positions: positions.map((position) => ({
        ...position,
        changeable: changeable.has(position.roleProfileId),
      })),
      authenticators,
      history,
      allowed,
      done: typeof done === "string" ? doneMessages[done] : undefined,
    });
  });
}

/** What a page says after an action succeeded and redirected back to the profile. */
const doneMessages: Record<string, string> = {
  created: "The profile was created.",
  changed: "The details were changed.",
  closed:
    "The profile was closed: its positions ended, its requests closed and its authenticators cancelled.",
  reopened: "The profile was reopened.",
  assigned: "The position was assigned.",
  requested: "Your request was sent to the Registration Authority.",
  dates: "The assignment's dates were changed.",
  removed: "The assignment was removed.",
  "link-sent": "An enrolment link was issued.",
  "authenticator-removed": "The authenticator was removed.",
};
