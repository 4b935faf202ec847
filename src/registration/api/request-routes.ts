import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { reportKinds, runReport } from "../reports.ts";
import { approveRequest } from "../request-approval.ts";
import { listRequests } from "../request-dashboard.ts";
import { openRequest, rejectRequest, viewRequest } from "../requests.ts";
import type { CimApiContext } from "./plugin.ts";
import { ActionBody, commonOf, IdParams, OdsCode, Offset, Version } from "./schemas.ts";

const tags = ["Requests"];

const RequestList = Type.Object({
  view: Type.Union([Type.Literal("open"), Type.Literal("closed"), Type.Literal("mine")], { default: "open" }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  offset: Type.Optional(Offset),
});
const Decision = ActionBody({ version: Type.Optional(Version) });
const ReportParams = Type.Object({ kind: Type.Union(reportKinds.map((kind) => Type.Literal(kind))) });
const ReportQuery = Type.Object({ odsCode: OdsCode });

export function registerRequestRoutes(
  api: FastifyInstance,
  { db, lists, actorOf, otherReports }: CimApiContext,
): void {
  api.get<{ Querystring: Static<typeof RequestList> }>(
    "/requests",
    {
      schema: {
        tags,
        summary: "The request dashboard: open ones you may approve, closed in the last 30 days, or yours",
        querystring: RequestList,
      },
    },
    async (request) =>
      listRequests(db, actorOf(request).id, request.query.view, {
        limit: request.query.limit,
        offset: request.query.offset,
      }),
  );
  api.get<{ Params: Static<typeof IdParams> }>(
    "/requests/:id",
    { schema: { tags, summary: "One request", params: IdParams } },
    async (request) => viewRequest(db, actorOf(request).id, request.params.id),
  );
  api.post<{ Params: Static<typeof IdParams> }>(
    "/requests/:id/open",
    { schema: { tags, summary: "Open a request: it is held for you for 15 minutes", params: IdParams } },
    async (request) => openRequest(db, actorOf(request), request.params.id),
  );
  api.post<{ Params: Static<typeof IdParams>; Body: Static<typeof Decision> }>(
    "/requests/:id/approve",
    {
      schema: {
        tags,
        summary: "Approve a request you have opened: the change is made as you",
        params: IdParams,
        body: Decision,
      },
    },
    async (request) =>
      approveRequest(db, actorOf(request), lists, request.params.id, {
        ...commonOf(request, request.body),
        version: request.body.version,
      }),
  );
  api.post<{ Params: Static<typeof IdParams>; Body: Static<typeof Decision> }>(
    "/requests/:id/reject",
    {
      schema: {
        tags,
        summary: "Reject a request you have opened (reason required)",
        params: IdParams,
        body: Decision,
      },
    },
    async (request) =>
      rejectRequest(db, actorOf(request), request.params.id, {
        ...commonOf(request, request.body),
        version: request.body.version,
      }),
  );
  api.get<{ Params: Static<typeof ReportParams>; Querystring: Static<typeof ReportQuery> }>(
    "/reports/:kind",
    {
      schema: {
        tags: ["Reports"],
        summary: "A report for an organisation and those below it, as CSV",
        params: ReportParams,
        querystring: ReportQuery,
        produces: ["text/csv"],
      },
    },
    async (request, reply) => {
      const report = await runReport(
        db,
        actorOf(request),
        { kind: request.params.kind, odsCode: request.query.odsCode },
        otherReports,
      );
      return reply
        .type("text/csv; charset=utf-8")
        .header("content-disposition", `attachment; filename="${report.filename}"`)
        .send(report.csv);
    },
  );
}
