import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { authorise } from "../../ra-policy/policy.ts";
import {
  assignPosition,
  batchAssign,
  batchLimit,
  changeAssignmentDates,
  removeAssignment,
} from "../assignments.ts";
import {
  changePositionDefinition,
  definePosition,
  listPositionDefinitions,
  setSponsorAssignable,
  sponsorAssignablePositions,
} from "../position-definitions.ts";
import { profilePart } from "../profiles.ts";
import type { CimApiContext } from "./plugin.ts";
import {
  ActionBody,
  actionOf,
  commonOf,
  IdParams,
  IsoDate,
  OrganisationParams,
  Reasoned,
  sendOutcome,
  Uuid,
  UuidParams,
} from "./schemas.ts";

const tags = ["Positions"];

const AccessProfile = Type.Object({
  jobRole: Type.String({ description: "R code, or S:G:R three-part code" }),
  activities: Type.Optional(Type.Array(Type.String())),
  workgroups: Type.Optional(Type.Array(Uuid)),
  areasOfWork: Type.Optional(Type.Array(Type.String())),
});
const NewDefinition = ActionBody({ name: Type.String(), accessProfiles: Type.Array(AccessProfile) });
const DefinitionChange = ActionBody({
  name: Type.Optional(Type.String()),
  accessProfiles: Type.Optional(Type.Array(AccessProfile)),
  status: Type.Optional(Type.Union([Type.Literal("active"), Type.Literal("retired")])),
});
const SponsorParams = Type.Object({ id: Uuid, sponsorUuid: Uuid });
const Assignable = ActionBody({ assignable: Type.Boolean() });
const NewAssignment = ActionBody({
  uuid: Uuid,
  positionDefinitionId: Uuid,
  startDate: Type.Optional(IsoDate),
  endDate: Type.Optional(Type.Union([IsoDate, Type.Null()])),
});
const DatesChange = ActionBody({ endDate: Type.Union([IsoDate, Type.Null()]) });
const Batch = ActionBody({
  positionDefinitionId: Uuid,
  uuids: Type.Array(Uuid, { minItems: 1, maxItems: batchLimit }),
  startDate: Type.Optional(IsoDate),
  endDate: Type.Optional(Type.Union([IsoDate, Type.Null()])),
});

export function registerPositionRoutes(api: FastifyInstance, { db, lists, actorOf }: CimApiContext): void {
  api.get<{ Params: Static<typeof OrganisationParams> }>(
    "/organisations/:odsCode/positions",
    { schema: { tags, summary: "An organisation's position definitions", params: OrganisationParams } },
    async (request) => {
      await authorise(db, actorOf(request).id, "profile.find", {});
      return listPositionDefinitions(db, request.params.odsCode.toUpperCase());
    },
  );
  api.post<{ Params: Static<typeof OrganisationParams>; Body: Static<typeof NewDefinition> }>(
    "/organisations/:odsCode/positions",
    {
      schema: {
        tags,
        summary: "Define a position (RA manager, advanced RA agent)",
        params: OrganisationParams,
        body: NewDefinition,
      },
    },
    async (request, reply) => {
      const definition = await definePosition(db, actorOf(request), lists, {
        ...request.body,
        ...commonOf(request, request.body),
        odsCode: request.params.odsCode,
      });
      return reply.code(201).send(definition);
    },
  );
  api.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof DefinitionChange> }>(
    "/positions/:id",
    {
      schema: {
        tags,
        summary: "Rename, change or retire a position definition",
        params: IdParams,
        body: DefinitionChange,
      },
    },
    async (request) =>
      changePositionDefinition(
        db,
        actorOf(request),
        lists,
        request.params.id,
        actionOf(request, request.body),
      ),
  );
  api.put<{ Params: Static<typeof SponsorParams>; Body: Static<typeof Assignable> }>(
    "/positions/:id/sponsors/:sponsorUuid",
    {
      schema: {
        tags,
        summary: "Let a sponsor assign this position directly, or stop it",
        params: SponsorParams,
        body: Assignable,
      },
    },
    async (request) =>
      setSponsorAssignable(db, actorOf(request), {
        ...commonOf(request, request.body),
        positionDefinitionId: request.params.id,
        sponsorUuid: request.params.sponsorUuid,
        assignable: request.body.assignable,
      }),
  );
  api.get(
    "/me/assignable-positions",
    { schema: { tags, summary: "The positions you may assign directly as a sponsor" } },
    async (request) => sponsorAssignablePositions(db, actorOf(request).id),
  );
  api.get<{ Params: Static<typeof UuidParams> }>(
    "/profiles/:uuid/assignments",
    {
      schema: {
        tags: ["Assignments"],
        summary: "A person's assignments, current and past",
        params: UuidParams,
      },
    },
    async (request) => profilePart(db, actorOf(request).id, request.params.uuid, "positions"),
  );
  api.post<{ Body: Static<typeof NewAssignment> }>(
    "/assignments",
    {
      schema: {
        tags: ["Assignments"],
        summary: "Assign a position (a sponsor may only request most)",
        body: NewAssignment,
      },
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        await assignPosition(db, actorOf(request), lists, actionOf(request, request.body)),
        201,
      ),
  );
  api.patch<{ Params: Static<typeof IdParams>; Body: Static<typeof DatesChange> }>(
    "/assignments/:id",
    {
      schema: {
        tags: ["Assignments"],
        summary: "Change an assignment's end date",
        params: IdParams,
        body: DatesChange,
      },
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        await changeAssignmentDates(db, actorOf(request), {
          ...commonOf(request, request.body),
          assignmentId: request.params.id,
          endDate: request.body.endDate,
        }),
      ),
  );
  api.post<{ Params: Static<typeof IdParams>; Body: Static<typeof Reasoned> }>(
    "/assignments/:id/remove",
    {
      schema: {
        tags: ["Assignments"],
        summary: "Remove an assignment (reason required)",
        params: IdParams,
        body: Reasoned,
      },
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        await removeAssignment(db, actorOf(request), lists, {
          ...commonOf(request, request.body),
          assignmentId: request.params.id,
        }),
      ),
  );
  api.post<{ Body: Static<typeof Batch> }>(
    "/assignments/batch",
    {
      schema: {
        tags: ["Assignments"],
        summary: `Assign a position to up to ${batchLimit} people, all or nothing`,
        body: Batch,
      },
    },
    async (request, reply) =>
      reply.code(201).send(await batchAssign(db, actorOf(request), lists, actionOf(request, request.body))),
  );
}
