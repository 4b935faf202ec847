import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { enrolmentPath } from "../../authenticators/enrolment/pages.ts";
import { decide, type RegistrationAction, registrationActions } from "../../ra-policy/policy.ts";
import { issueAuthenticatorLink, removeAuthenticator } from "../authenticators.ts";
import { closeProfile, reopenProfile } from "../closure.ts";
import { documentKinds } from "../identity-checks.ts";
import { changeDetails, changeOwnContact } from "../profile-changes.ts";
import { createProfile, findProfiles, profileDetails, profilePart } from "../profiles.ts";
import type { CimApiContext } from "./plugin.ts";
import {
  ActionBody,
  actionOf,
  commonOf,
  IsoDate,
  OdsCode,
  Offset,
  Reasoned,
  sendOutcome,
  Uuid,
  UuidParams,
} from "./schemas.ts";

const tags = ["Profiles"];

const ProfileSearch = Type.Object({
  name: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 100,
      description: "Family name prefix, or 'given family' prefixes",
    }),
  ),
  uuid: Type.Optional(Uuid),
  email: Type.Optional(Type.String({ maxLength: 254 })),
  niNumber: Type.Optional(Type.String({ maxLength: 12 })),
  dateOfBirth: Type.Optional(IsoDate),
  odsCode: Type.Optional(OdsCode),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  offset: Type.Optional(Offset),
});

const PersonFields = {
  title: Type.Optional(Type.String()),
  givenName: Type.Optional(Type.String()),
  middleNames: Type.Optional(Type.String()),
  familyName: Type.Optional(Type.String()),
  dateOfBirth: Type.Optional(IsoDate),
  niNumber: Type.Optional(Type.String()),
  email: Type.Optional(Type.String()),
  mobile: Type.Optional(Type.String()),
};

const DocumentKind = Type.Union(Object.keys(documentKinds).map((kind) => Type.Literal(kind)));

const NewProfile = ActionBody({
  ...PersonFields,
  givenName: Type.String(),
  familyName: Type.String(),
  registrations: Type.Optional(Type.Array(Type.Object({ body: Type.String(), number: Type.String() }))),
  odsCode: OdsCode,
  identityChecks: Type.Object({
    documents: Type.Array(
      Type.Object({
        kind: DocumentKind,
        reference: Type.String(),
        nameOnDocument: Type.Optional(Type.String()),
        expiresOn: Type.Optional(IsoDate),
      }),
    ),
    confirmed: Type.Boolean({ description: "The RA saw the original documents" }),
  }),
  notDuplicateOf: Type.Optional(Type.Array(Uuid)),
});

const DetailsChange = ActionBody({ changes: Type.Object(PersonFields) });
const OwnContact = ActionBody({ email: Type.Optional(Type.String()), mobile: Type.Optional(Type.String()) });
const LinkRequest = ActionBody({ validHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 720 })) });
const AuthenticatorParams = Type.Object({ uuid: Uuid, authenticatorId: Type.String({ maxLength: 200 }) });
const DecisionQuery = Type.Object({
  action: Type.Union(registrationActions.map((action) => Type.Literal(action))),
  uuid: Type.Optional(Uuid),
  odsCode: Type.Optional(OdsCode),
  positionDefinitionId: Type.Optional(Uuid),
});

export function registerProfileRoutes(api: FastifyInstance, { db, actorOf, origin }: CimApiContext): void {
  api.get<{ Querystring: Static<typeof ProfileSearch> }>(
    "/profiles",
    {
      schema: {
        tags,
        summary:
          "Find profiles by name, UUID or organisation; by email, NI number or date of birth with an RA role covering the person",
        querystring: ProfileSearch,
      },
    },
    async (request) => {
      const { limit, offset, odsCode, ...search } = request.query;
      return findProfiles(
        db,
        actorOf(request).id,
        { ...search, odsCode: odsCode?.toUpperCase() },
        { limit, offset },
      );
    },
  );
  api.post<{ Body: Static<typeof NewProfile> }>(
    "/profiles",
    {
      schema: { tags, summary: "Create a verified profile with the identity checks made", body: NewProfile },
    },
    async (request, reply) =>
      reply.code(201).send(await createProfile(db, actorOf(request), actionOf(request, request.body))),
  );
  api.get<{ Params: Static<typeof UuidParams> }>(
    "/profiles/:uuid",
    {
      schema: {
        tags,
        summary:
          "A profile as the caller may see it: name, UUID and current positions for everyone; details, positions, authenticators, smartcards and history as an RA role covering the person allows",
        params: UuidParams,
      },
    },
    async (request) => profileDetails(db, actorOf(request).id, request.params.uuid),
  );
  api.patch<{ Params: Static<typeof UuidParams>; Body: Static<typeof DetailsChange> }>(
    "/profiles/:uuid",
    {
      schema: {
        tags,
        summary: "Change personal or contact details (a reason for a name)",
        params: UuidParams,
        body: DetailsChange,
      },
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        await changeDetails(db, actorOf(request), {
          ...commonOf(request, request.body),
          uuid: request.params.uuid,
          changes: request.body.changes,
        }),
      ),
  );
  api.patch<{ Body: Static<typeof OwnContact> }>(
    "/me/contact",
    { schema: { tags, summary: "Change your own email or mobile", body: OwnContact } },
    async (request) => changeOwnContact(db, actorOf(request), actionOf(request, request.body)),
  );
  for (const [path, action, summary] of [
    [
      "close",
      closeProfile,
      "Close a profile: ends positions, closes requests, cancels authenticators and smartcards (revoking their certificates), ends CIS2 sessions; answers what was done",
    ],
    ["reopen", reopenProfile, "Reopen a closed profile"],
  ] as const) {
    api.post<{ Params: Static<typeof UuidParams>; Body: Static<typeof Reasoned> }>(
      `/profiles/:uuid/${path}`,
      { schema: { tags, summary, params: UuidParams, body: Reasoned } },
      async (request, reply) =>
        sendOutcome<unknown>(
          reply,
          await action(db, actorOf(request), {
            ...commonOf(request, request.body),
            uuid: request.params.uuid,
          }),
        ),
    );
  }
  api.get<{ Params: Static<typeof UuidParams> }>(
    "/profiles/:uuid/authenticators",
    { schema: { tags: ["Authenticators"], summary: "A person's authenticators", params: UuidParams } },
    async (request) => profilePart(db, actorOf(request).id, request.params.uuid, "authenticators"),
  );
  api.post<{ Params: Static<typeof UuidParams>; Body: Static<typeof LinkRequest> }>(
    "/profiles/:uuid/authenticators/links",
    {
      schema: {
        tags: ["Authenticators"],
        summary: "Issue a one-time enrolment link",
        params: UuidParams,
        body: LinkRequest,
      },
    },
    async (request, reply) => {
      const link = await issueAuthenticatorLink(db, actorOf(request), {
        ...commonOf(request, request.body),
        uuid: request.params.uuid,
        validHours: request.body.validHours,
      });
      return reply
        .code(201)
        .send({ link: `${origin}${enrolmentPath}/${link.token}`, expiresAt: link.expiresAt });
    },
  );
  api.post<{ Params: Static<typeof AuthenticatorParams>; Body: Static<typeof Reasoned> }>(
    "/profiles/:uuid/authenticators/:authenticatorId/remove",
    {
      schema: {
        tags: ["Authenticators"],
        summary: "Remove an authenticator (reason required)",
        params: AuthenticatorParams,
        body: Reasoned,
      },
    },
    async (request, reply) => {
      await removeAuthenticator(db, actorOf(request), {
        ...commonOf(request, request.body),
        uuid: request.params.uuid,
        authenticatorId: request.params.authenticatorId,
      });
      return reply.code(204).send();
    },
  );
  api.get<{ Querystring: Static<typeof DecisionQuery> }>(
    "/decisions",
    {
      schema: {
        tags: ["Policy"],
        summary: "May I do this action to this target?",
        querystring: DecisionQuery,
      },
    },
    async (request) =>
      decide(db, actorOf(request).id, request.query.action as RegistrationAction, {
        uuid: request.query.uuid,
        ods: request.query.odsCode?.toUpperCase(),
        positionDefinition: request.query.positionDefinitionId,
      }),
  );
}
