import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { authorise } from "../../ra-policy/policy.ts";
import { workgroupsAt } from "../../rbac/workgroups.ts";
import { addLocalOrganisation, correctOrganisationName } from "../local-organisations.ts";
import { changeWorkgroup, defineWorkgroup } from "../workgroup-management.ts";
import type { CimApiContext } from "./plugin.ts";
import { ActionBody, actionOf, IdParams, OdsCode, OrganisationParams, Uuid } from "./schemas.ts";

const tags = ["Organisations and workgroups"];
const WorkgroupFields = {
  description: Type.Optional(Type.String({ maxLength: 500 })),
  positionDefinitionIds: Type.Optional(
    Type.Array(Uuid, {
      description: "The positions that may carry it; empty: any position at the organisation",
    }),
  ),
};
const NewWorkgroup = ActionBody({ name: Type.String(), ...WorkgroupFields });
const WorkgroupChange = ActionBody({ name: Type.Optional(Type.String()), ...WorkgroupFields });
const NewOrganisation = ActionBody({
  odsCode: OdsCode,
  name: Type.String(),
  type: Type.String({ description: "ODS role code, e.g. RO198" }),
  parentOdsCode: Type.Optional(OdsCode),
  address: Type.Optional(
    Type.Object({
      lines: Type.Optional(Type.Array(Type.String())),
      city: Type.Optional(Type.String()),
      postcode: Type.Optional(Type.String()),
    }),
  ),
});
const NameCorrection = ActionBody({ name: Type.String() });

/** Workgroups (RA managers) and local organisations and name corrections (national RA managers). */
export function registerOrganisationRoutes(api: FastifyInstance, { db, actorOf }: CimApiContext): void {
  api.get<{ Params: Static<typeof OrganisationParams> }>(
    "/organisations/:odsCode/workgroups",
    { schema: { tags, summary: "An organisation's workgroups", params: OrganisationParams } },
    async (request) => {
      await authorise(db, actorOf(request).id, "profile.find", {});
      return workgroupsAt(db, request.params.odsCode.toUpperCase());
    },
  );
  api.post<{ Params: Static<typeof OrganisationParams>; Body: Static<typeof NewWorkgroup> }>(
    "/organisations/:odsCode/workgroups",
    {
      schema: {
        tags,
        summary: "Create a workgroup (RA manager)",
        params: OrganisationParams,
        body: NewWorkgroup,
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await defineWorkgroup(
            db,
            actorOf(request),
            request.params.odsCode,
            actionOf(request, request.body),
          ),
        ),
  );
  api.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof WorkgroupChange> }>(
    "/workgroups/:id",
    {
      schema: {
        tags,
        summary: "Rename or change a workgroup (RA manager)",
        params: IdParams,
        body: WorkgroupChange,
      },
    },
    async (request) =>
      changeWorkgroup(db, actorOf(request), request.params.id, actionOf(request, request.body)),
  );
  api.post<{ Body: Static<typeof NewOrganisation> }>(
    "/organisations",
    {
      schema: {
        tags,
        summary: "Add a local organisation not yet in ODS (national RA manager)",
        body: NewOrganisation,
      },
    },
    async (request, reply) =>
      reply.code(201).send(await addLocalOrganisation(db, actorOf(request), actionOf(request, request.body))),
  );
  api.patch<{ Params: Static<typeof OrganisationParams>; Body: Static<typeof NameCorrection> }>(
    "/organisations/:odsCode",
    {
      schema: {
        tags,
        summary: "Correct an organisation's name, with a reason (national RA manager)",
        params: OrganisationParams,
        body: NameCorrection,
      },
    },
    async (request) =>
      correctOrganisationName(db, actorOf(request), request.params.odsCode, actionOf(request, request.body)),
  );
}
