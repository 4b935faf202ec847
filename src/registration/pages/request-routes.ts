import type { FastifyInstance, FastifyRequest } from "fastify";
import { decide } from "../../ra-policy/policy.ts";
import { getPositionDefinition } from "../position-definitions.ts";
import { approveRequest } from "../request-approval.ts";
import { listRequests, type RequestView } from "../request-dashboard.ts";
import { getRequest, openRequest, rejectRequest } from "../requests.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, formOf } from "./form-actions.ts";
import { namesFor } from "./names.ts";
import { codesOfRequests, requestDetailRows, requestedAction, requestSummary } from "./request-words.ts";

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
    const names = await namesFor(cim.db, cim.lists, codesOfRequests(requests));
    return renderCimPage(request, reply, "requests.njk", {
      pageTitle: views.find((candidate) => candidate.view === view)?.text,
      tabs: views
        .filter((candidate) => mayDecide || candidate.view === "mine")
        .map((candidate) => ({ ...candidate, current: candidate.view === view })),
      total,
      requests: requests.map((item) => ({
        ...item,
        summary: requestSummary(item, names),
        subject: names.person(item.subjectUuid),
        requester: item.requestedBy ? names.person(item.requestedBy) : `From ${item.source}`,
        organisation: names.organisation(item.odsCode),
      })),
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
    const names = await namesFor(cim.db, cim.lists, {
      ...codesOfRequests([registration]),
      people: [
        registration.subjectUuid,
        registration.requestedBy,
        registration.decidedBy,
        registration.lockedBy,
      ],
    });
    return {
      pageTitle: `${requestedAction(registration.action)} for ${names.personName(registration.subjectUuid) ?? registration.subjectUuid}`,
      registration,
      definition,
      what: requestedAction(registration.action),
      subject: names.person(registration.subjectUuid),
      subjectName: names.personName(registration.subjectUuid),
      organisation: names.organisation(registration.odsCode),
      requester: registration.requestedBy ? names.person(registration.requestedBy) : undefined,
      decider: registration.decidedBy ? names.person(registration.decidedBy) : undefined,
      holder: registration.lockedBy ? names.person(registration.lockedBy) : undefined,
      detailRows: requestDetailRows(registration),
      heldByMe,
      heldByOther,
      mayDecide,
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
          // One step from the request's page: it is opened (held) and decided at once, unless
          // another approver holds it; the version the approver saw still guards the decision.
          const held = await getRequest(cim.db, idOf(request));
          const heldByMe =
            held.lockedBy === signedIn(request).person.uuid &&
            (held.lockedUntil?.getTime() ?? 0) > Date.now();
          if (!heldByMe && (path === "approve" || input.reason))
            await openRequest(cim.db, actorOf(request), idOf(request));
          if (path === "approve")
            await approveRequest(cim.db, actorOf(request), cim.lists, idOf(request), input);
          else await rejectRequest(cim.db, actorOf(request), idOf(request), input);
          return `/cim/?done=${done}`;
        },
        { view: "request.njk", context: () => showing(request), labels },
      ),
    );
  }
}
