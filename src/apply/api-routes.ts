import { type Static, Type } from "@sinclair/typebox";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Actor } from "../audit/actor.ts";
import { ForbiddenError } from "../errors.ts";
import { authorityFor } from "../ra-policy/policy.ts";
import type { CimApiContext } from "../registration/api/plugin.ts";
import { ActionBody, actionOf, commonOf, OdsCode, Reasoned } from "../registration/api/schemas.ts";
import type { Sealer } from "../secrets/sealed.ts";
import {
  type ApplySettings,
  inviteApplicant,
  listInvitations,
  resendInvitation,
  withdrawInvitation,
} from "./invitations.ts";

/**
 * Apply for Care ID invitations in the CIM API: the pages' invite, list, re-send and withdraw,
 * under the same policy action (apply.invite) and the same domain functions. The link's token
 * is only ever in the applicant's email, never in an answer.
 */
export type ApplyApi = { sealer: Sealer; settings: ApplySettings };

const tags = ["Apply for Care ID"];

const InvitationParams = Type.Object({
  id: Type.String({
    pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
    description: "The invitation's id",
  }),
});
const NewInvitation = ActionBody({
  odsCode: OdsCode,
  givenName: Type.String({ maxLength: 100 }),
  familyName: Type.String({ maxLength: 100 }),
  email: Type.String({ maxLength: 254 }),
});

export function registerApplyApiRoutes(
  api: FastifyInstance,
  { db, actorOf }: CimApiContext,
  { sealer, settings }: ApplyApi,
): void {
  // As in the pages, every Apply for Care ID step is audited with source APPLY.
  const applyActor = (request: FastifyRequest): Actor => ({ ...actorOf(request), source: "APPLY" });

  api.get(
    "/apply/invitations",
    { schema: { tags, summary: "Invitations at the caller's organisations and below, newest first" } },
    async (request) => {
      const actor = actorOf(request);
      // The pages show an empty list; an API caller is told plainly that the action is not theirs.
      if ((await authorityFor(db, actor.id, "apply.invite")).organisations.length === 0)
        throw new ForbiddenError("Only RA managers, RA agents, ID checkers and sponsors invite applicants");
      return listInvitations(db, actor.id);
    },
  );
  api.post<{ Body: Static<typeof NewInvitation> }>(
    "/apply/invitations",
    {
      schema: {
        tags,
        summary: "Invite one applicant (RA manager, RA agent, ID checker, sponsor); the link is emailed",
        body: NewInvitation,
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await inviteApplicant(db, applyActor(request), sealer, settings, actionOf(request, request.body)),
        ),
  );
  api.post<{ Params: Static<typeof InvitationParams>; Body: Static<typeof Reasoned> }>(
    "/apply/invitations/:id/resend",
    {
      schema: {
        tags,
        summary: "Send the invitation again with a new link and expiry; the old link stops working",
        params: InvitationParams,
        body: Reasoned,
      },
    },
    async (request) =>
      resendInvitation(
        db,
        applyActor(request),
        sealer,
        settings,
        request.params.id,
        commonOf(request, request.body),
      ),
  );
  api.post<{ Params: Static<typeof InvitationParams>; Body: Static<typeof Reasoned> }>(
    "/apply/invitations/:id/withdraw",
    {
      schema: {
        tags,
        summary: "Withdraw an invitation not yet decided; its link stops working at once",
        params: InvitationParams,
        body: Reasoned,
      },
    },
    async (request) =>
      withdrawInvitation(db, applyActor(request), request.params.id, commonOf(request, request.body)),
  );
}
