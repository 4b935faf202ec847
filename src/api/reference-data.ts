import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { NotFoundError } from "../errors.ts";
import type { CodeLists } from "../rbac/code-lists.ts";
import { effectiveActivities, qualifyJobRole } from "../rbac/job-roles.ts";
import { getOrganisation, listOrganisations } from "../rbac/organisations.ts";
import type { Store } from "../store/database.ts";

/**
 * National RBAC code lists and organisations as JSON. Both are public reference data (the ODS
 * and the national RBAC database publish them), so these routes need no sign-in.
 */
const JobRoleParams = Type.Object({ code: Type.String({ pattern: "^(S[0-9]{4}:G[0-9]{4}:)?R[0-9]{4}$" }) });
const OrganisationParams = Type.Object({ odsCode: Type.String({ pattern: "^[A-Za-z0-9]{3,10}$" }) });

export function registerReferenceData(app: FastifyInstance, store: Store, lists: CodeLists): void {
  const describeJobRole = (code: string) => {
    const role = lists.jobRoles.get(code);
    if (!role) throw new NotFoundError("job-role", `No national RBAC job role has code ${code}`);
    const qualified = qualifyJobRole(lists, role);
    const activities = effectiveActivities(lists, role.code, []);
    return {
      ...qualified,
      baselineActivities: activities.map((activity) => ({
        code: activity,
        name: lists.activities.get(activity)?.name,
      })),
    };
  };

  app.get("/api/rbac/job-roles", async () =>
    [...lists.jobRoles.values()].map((role) => qualifyJobRole(lists, role)),
  );
  app.get<{ Params: Static<typeof JobRoleParams> }>(
    "/api/rbac/job-roles/:code",
    { schema: { params: JobRoleParams } },
    async (request) => describeJobRole(request.params.code.split(":").pop() as string),
  );
  app.get("/api/rbac/activities", async () =>
    [...lists.activities.entries()].map(([code, activity]) => ({
      code,
      name: activity.name,
      includes: activity.includes,
    })),
  );
  app.get("/api/organisations", async () => listOrganisations(store.db));
  app.get<{ Params: Static<typeof OrganisationParams> }>(
    "/api/organisations/:odsCode",
    { schema: { params: OrganisationParams } },
    async (request) => getOrganisation(store.db, request.params.odsCode.toUpperCase()),
  );
}
