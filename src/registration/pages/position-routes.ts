import type { FastifyInstance, FastifyRequest } from "fastify";
import { decide } from "../../ra-policy/policy.ts";
import { workgroupsAt } from "../../rbac/workgroups.ts";
import { definePosition, listPositionDefinitions, setSponsorAssignable } from "../position-definitions.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "./context.ts";
import { actOnForm, commonOf, formOf } from "./form-actions.ts";

const labels: Record<string, string> = {
  odsCode: "Organisation code",
  name: "Name",
  accessProfiles: "Access",
  "accessProfiles[0].jobRole": "Job role",
  "accessProfiles[0].activities": "Extra activities",
  "accessProfiles[0].workgroups": "Workgroups",
  sponsorUuid: "Sponsor's UUID",
};

/** Codes typed into one box, separated by commas or spaces. */
function codesIn(text: string | undefined): string[] {
  return (text ?? "")
    .split(/[\s,]+/)
    .map((code) => code.trim().toUpperCase())
    .filter(Boolean);
}

/** Positions defined per organisation: list, define, and which sponsors may assign them directly. */
export function registerPositionRoutes(app: FastifyInstance, cim: Cim): void {
  /** The organisation the page is about: asked for, or where the user's highest RA role is. */
  const organisationOf = (request: FastifyRequest) => {
    const asked = String((request.query as Record<string, unknown>).ods ?? formOf(request).odsCode ?? "");
    return (asked || signedIn(request).holdings[0]?.odsCode || "").toUpperCase();
  };

  const pageContext = async (request: FastifyRequest, odsCode: string) => {
    const user = signedIn(request).person.uuid;
    const [definitions, workgroups, mayDefine] = await Promise.all([
      /^[A-Z0-9]{3,10}$/.test(odsCode) ? listPositionDefinitions(cim.db, odsCode) : [],
      /^[A-Z0-9]{3,10}$/.test(odsCode) ? workgroupsAt(cim.db, odsCode) : [],
      decide(cim.db, user, "position.define", { ods: odsCode }),
    ]);
    const jobRoles = [...cim.lists.jobRoles.values()].sort((a, b) => a.name.localeCompare(b.name));
    return {
      pageTitle: `Positions at ${odsCode}`,
      odsCode,
      definitions: definitions.map((definition) => ({
        ...definition,
        access: definition.accessProfiles.map((profile) => ({
          ...profile,
          jobRoleName: cim.lists.jobRoles.get(profile.jobRole)?.name ?? profile.jobRole,
        })),
      })),
      workgroups,
      jobRoles,
      mayDefine: mayDefine.allowed,
      refusal: mayDefine.allowed ? undefined : mayDefine.reason,
    };
  };

  app.get("/positions", async (request, reply) => {
    const odsCode = organisationOf(request);
    return renderCimPage(request, reply, "positions.njk", {
      values: {},
      ...(await pageContext(request, odsCode)),
    });
  });

  app.post("/positions", async (request, reply) => {
    const form = formOf(request);
    const odsCode = organisationOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        const workgroups = Object.keys(request.body as object)
          .filter((name) => name.startsWith("workgroup-"))
          .map((name) => name.slice("workgroup-".length));
        await definePosition(cim.db, actorOf(request), cim.lists, {
          ...commonOf(request),
          odsCode,
          name: form.name,
          accessProfiles: [{ jobRole: form.jobRole, activities: codesIn(form.activities), workgroups }],
        });
        return `/cim/positions?ods=${encodeURIComponent(odsCode)}&done=defined`;
      },
      { view: "positions.njk", context: () => pageContext(request, odsCode), labels },
    );
  });

  app.post("/positions/:id/sponsors", async (request, reply) => {
    const { id } = request.params as { id: string };
    const form = formOf(request);
    const odsCode = organisationOf(request);
    return actOnForm(
      request,
      reply,
      async () => {
        await setSponsorAssignable(cim.db, actorOf(request), {
          ...commonOf(request),
          positionDefinitionId: id,
          sponsorUuid: form.sponsorUuid ?? "",
          assignable: form.assignable !== "no",
        });
        return `/cim/positions?ods=${encodeURIComponent(odsCode)}&done=sponsor`;
      },
      { view: "positions.njk", context: () => pageContext(request, odsCode), labels },
    );
  });
}
