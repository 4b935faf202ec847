import type { FastifyInstance, FastifyRequest } from "fastify";
import { decide } from "../policy.ts";
import { getPositionDefinition } from "../position-definitions.ts";
import { approveRequest } from "../request-approval.ts";
import { getRequest, listRequests, openRequest, type RequestView, rejectRequest } from "../requests.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, formOf } from "./form-actions.ts";

const views: { view: RequestView; text: string }[] = [
  { view: "open", text: "Open requests" },
  { view: "closed", text: "Closed in the last 30 days" },
  { view: "mine", text: "Your requests" },
];

const labels: Record<string, string> = { reason: "Reason", requestId: "Request", version: "Request" };

/** The request dashboard, and opening (locking), approving and rejecting one request. */
export function registerRequestRoutes(app: FastifyInstance, cim: Cim): void {
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  app.get("/requests", async (request, reply) => {
    const user = signedIn(request).person.uuid;
    const mayDecide = (await decide(cim.db, user, "request.decide", {})).allowed;
    const asked = (request.query as Record<string, unknown>).view;
    const view = views.find((candidate) => candidate.view === asked)?.view ?? (mayDecide ? "open" : "mine");
    const { total, requests } = await listRequests(cim.db, user, view);
    return renderCimPage(request, reply, "requests.njk", {
      pageTitle: views.find((candidate) => candidate.view === view)?.text,
      tabs: views
        .filter((candidate) => mayDecide || candidate.view === "mine")
        .map((candidate) => ({ ...candidate, current: candidate.view === view })),
      total,
      requests,
    });
  });

  const showing = async (request: FastifyRequest) => {
    const user = signedIn(request).person.uuid;
    const registration = await getRequest(cim.db, idOf(request));
    const definition = registration.positionDefinitionId
      ? await getPositionDefinition(cim.db, registration.positionDefinitionId)
      : undefined;
    const heldByMe =
      registration.lockedBy === user && (registration.lockedUntil?.getTime() ?? 0) > Date.now();
    const heldByOther =
      registration.lockedBy && !heldByMe && (registration.lockedUntil?.getTime() ?? 0) > Date.now();
    const mayDecide =
      registration.status === "open" &&
      registration.requestedBy !== user &&
      (await decide(cim.db, user, "request.decide", { ods: registration.odsCode })).allowed;
    return {
      pageTitle: `Request ${registration.id}`,
      registration,
      definition,
      heldByMe,
      heldByOther,
      mayDecide,
      lockedUntil: registration.lockedUntil?.toISOString().slice(11, 16),
    };
  };

  app.get("/requests/:id", async (request, reply) =>
    renderCimPage(request, reply, "request.njk", { values: {}, ...(await showing(request)) }),
  );

  app.post("/requests/:id/open", async (request, reply) =>
    actOnForm(
      request,
      reply,
      async () => {
        await openRequest(cim.db, actorOf(request), idOf(request));
        return `/cim/requests/${idOf(request)}`;
      },
      { view: "request.njk", context: () => showing(request), labels },
    ),
  );

  for (const [path, done] of [
    ["approve", "approved"],
    ["reject", "rejected"],
  ] as const) {
    app.post(`/requests/:id/${path}`, async (request, reply) =>
      actOnForm(
        request,
        reply,
        async () => {
          const input = { ...commonOf(request), version: Number(formOf(request).version) };
          if (path === "approve")
            await approveRequest(cim.db, actorOf(request), cim.lists, idOf(request), input);
          else await rejectRequest(cim.db, actorOf(request), idOf(request), input);
          return `/cim/requests?done=${done}`;
        },
        { view: "request.njk", context: () => showing(request), labels },
      ),
    );
  }
}
