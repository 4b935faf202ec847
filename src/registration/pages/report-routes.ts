import type { FastifyInstance, FastifyRequest } from "fastify";
import { reportKinds, runReport } from "../reports.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "./context.ts";
import { formOf, showFormProblems } from "./form-actions.ts";

const reportNames: Record<string, string> = {
  users: "Users: profiles with a position at the organisation",
  requests: "Requests: open, and closed in the last 30 days",
  positions: "Positions: current assignments",
  authenticators: "Authenticators: who holds which",
  smartcards: "Smartcards: serial, status and expiry of each card",
  applications: "Apply for Care ID: invitations, reviews and decisions in figures",
};

/** Reports for an organisation and those below it, exported as CSV. */
export function registerReportRoutes(app: FastifyInstance, cim: Cim): void {
  const choosing = async (request: FastifyRequest) => ({
    pageTitle: "Reports",
    kinds: reportKinds.map((kind) => ({ value: kind, text: reportNames[kind] ?? kind })),
    defaultOrganisation: signedIn(request).holdings[0]?.odsCode ?? "",
  });

  app.get("/reports", async (request, reply) =>
    renderCimPage(request, reply, "reports.njk", { values: {}, ...(await choosing(request)) }),
  );

  app.post("/reports", async (request, reply) => {
    const form = formOf(request);
    try {
      const report = await runReport(
        cim.db,
        actorOf(request),
        { kind: form.kind ?? "", odsCode: form.odsCode ?? "" },
        cim.otherReports,
      );
      return reply
        .header("cache-control", "no-store")
        .header("content-disposition", `attachment; filename="${report.filename}"`)
        .type("text/csv; charset=utf-8")
        .send(report.csv);
    } catch (error) {
      return showFormProblems(request, reply, error, {
        view: "reports.njk",
        context: () => choosing(request),
        labels: { kind: "Report", odsCode: "Organisation code" },
      });
    }
  });
}
