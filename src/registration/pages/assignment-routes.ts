import type { FastifyInstance, FastifyRequest } from "fastify";
import { InvalidInputError } from "../../errors.ts";
import { getPerson } from "../../people/people.ts";
import { decide } from "../../ra-policy/policy.ts";
import { organisationCodesBelow } from "../../rbac/organisations.ts";
import {
  assignPosition,
  batchAssign,
  batchLimit,
  changeAssignmentDates,
  getAssignment,
  removeAssignment,
} from "../assignments.ts";
import {
  getPositionDefinition,
  listPositionDefinitions,
  sponsorAssignablePositions,
} from "../position-definitions.ts";
import { actorOf, type Cim, displayName, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, dateFrom, formOf } from "./form-actions.ts";

const labels: Record<string, string> = {
  positionDefinitionId: "Position",
  startDate: "Start date",
  endDate: "End date",
  reason: "Reason",
  uuids: "UUIDs",
  assignmentId: "Assignment",
};

/** Assign a position to one person, change an assignment's end date or remove it, and batch-assign. */
export function registerAssignmentRoutes(app: FastifyInstance, cim: Cim): void {
  const uuidOf = (request: FastifyRequest) => (request.params as { uuid: string }).uuid;
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  /** Positions the user might assign: those at their organisations and below, and any a sponsor may assign directly. */
  const choosable = async (request: FastifyRequest) => {
    const user = signedIn(request);
    const places = await organisationCodesBelow(
      cim.db,
      user.holdings.map((holding) => holding.odsCode),
    );
    const definitions = (
      await Promise.all(places.map((place) => listPositionDefinitions(cim.db, place)))
    ).flat();
    const direct = new Set(
      (await sponsorAssignablePositions(cim.db, user.person.uuid)).map((definition) => definition.id),
    );
    return definitions.map((definition) => ({
      value: definition.id,
      text: `${definition.name} at ${definition.odsCode}${direct.has(definition.id) ? " (you may assign it directly)" : ""}`,
    }));
  };

  const assigning = async (request: FastifyRequest) => {
    const person = await getPerson(cim.db, uuidOf(request));
    // A sponsor asks the RA; the page's words say which act this is.
    const decision = await decide(cim.db, signedIn(request).person.uuid, "position.assign", {
      uuid: person.uuid,
    });
    const byRequest = decision.allowed && decision.byRequest === true;
    return {
      pageTitle: byRequest
        ? `Request a position for ${displayName(person)}`
        : `Assign a position to ${displayName(person)}`,
      byRequest,
      person,
      choices: await choosable(request),
    };
  };

  app.get("/profiles/:uuid/assign", async (request, reply) =>
    renderCimPage(request, reply, "assign.njk", { values: {}, ...(await assigning(request)) }),
  );

  app.post("/profiles/:uuid/assign", async (request, reply) => {
    const form = formOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        if (!form.positionDefinitionId)
          throw InvalidInputError.field("positionDefinitionId", "Select a position");
        const outcome = await assignPosition(cim.db, actorOf(request), cim.lists, {
          ...commonOf(request),
          uuid: uuidOf(request),
          positionDefinitionId: form.positionDefinitionId,
          startDate: dateFrom(form, "startDate"),
          endDate: dateFrom(form, "endDate"),
        });
        return `/cim/profiles/${uuidOf(request)}?done=${outcome.outcome === "requested" ? "requested" : "assigned"}`;
      },
      { view: "assign.njk", context: () => assigning(request), labels },
    );
  });

  const changing = async (request: FastifyRequest) => {
    const assignment = await getAssignment(cim.db, idOf(request));
    const person = await getPerson(cim.db, assignment.uuid);
    return { pageTitle: `${assignment.name} at ${assignment.odsCode}`, assignment, person };
  };

  app.get("/assignments/:id", async (request, reply) => {
    const context = await changing(request);
    return renderCimPage(request, reply, "assignment.njk", {
      values: { endDate: context.assignment.endDate },
      ...context,
    });
  });

  for (const [path, done] of [
    ["dates", "dates"],
    ["remove", "removed"],
  ] as const) {
    app.post(`/assignments/:id/${path}`, async (request, reply) => {
      const form = formOf(request);
      return actOnForm(
        request,
        reply,
        async () => {
          const input = { ...commonOf(request), assignmentId: idOf(request) };
          const outcome =
            path === "dates"
              ? await changeAssignmentDates(cim.db, actorOf(request), {
                  ...input,
                  endDate: dateFrom(form, "endDate") ?? null,
                })
              : await removeAssignment(cim.db, actorOf(request), cim.lists, input);
          const { uuid } = await getAssignment(cim.db, idOf(request));
          return `/cim/profiles/${uuid}?done=${outcome.outcome === "requested" ? "requested" : done}`;
        },
        { view: "assignment.njk", context: () => changing(request), labels },
      );
    });
  }

  const batching = async (request: FastifyRequest) => {
    const definition = await getPositionDefinition(cim.db, idOf(request));
    return { pageTitle: `Assign ${definition.name} to many people`, definition, batchLimit };
  };

  app.get("/positions/:id/batch", async (request, reply) =>
    renderCimPage(request, reply, "batch-assign.njk", { values: {}, ...(await batching(request)) }),
  );

  app.post("/positions/:id/batch", async (request, reply) => {
    const form = formOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        const definition = await getPositionDefinition(cim.db, idOf(request));
        await batchAssign(cim.db, actorOf(request), cim.lists, {
          ...commonOf(request),
          positionDefinitionId: definition.id,
          uuids: (form.uuids ?? "").split(/[\s,]+/).filter(Boolean),
          startDate: dateFrom(form, "startDate"),
          endDate: dateFrom(form, "endDate"),
        });
        return `/cim/positions?ods=${definition.odsCode}&done=batch`;
      },
      {
        view: "batch-assign.njk",
        context: () => batching(request),
        labels,
        // Each person at fault is named in the one box that lists them.
        fieldOf: (field) => (field.startsWith("uuids") ? "uuids" : field),
      },
    );
  });
}
