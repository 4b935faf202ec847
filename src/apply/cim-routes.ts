import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Actor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import { authorityFor, decide } from "../ra-policy/policy.ts";
import { actorOf, type Cim, renderCimPage, signedIn } from "../registration/pages/context.ts";
import { actOnForm, commonOf, formOf } from "../registration/pages/form-actions.ts";
import type { Slot } from "./documents.ts";
import {
  type ApplySettings,
  inviteApplicant,
  listInvitations,
  resendInvitation,
  withdrawInvitation,
} from "./invitations.ts";
import { inviteFromFile, readInviteeFile } from "./invitee-file.ts";
import { acceptMultipart, isUploadedFile } from "./multipart.ts";
import {
  applicationForReview,
  approveApplication,
  claimApplication,
  documentPhoto,
  rejectApplication,
  rejectionReasons,
  reviewQueue,
} from "./review.ts";

const labels: Record<string, string> = {
  givenName: "Given name",
  familyName: "Family name",
  email: "Email",
  odsCode: "Organisation",
  file: "The file",
  rejection: "Reason",
  claim: "Application",
  status: "Application",
  version: "Application",
};

/** In CIM every Apply for Care ID step is audited with source APPLY. */
function applyActor(request: FastifyRequest): Actor {
  return { ...actorOf(request), source: "APPLY" };
}

/**
 * Apply for Care ID in Care Identity Management: inviting (one by one, or from a CSV file),
 * re-sending and withdrawing invitations, and the central review queue.
 */
export function registerApplyCimRoutes(app: FastifyInstance, cim: Cim, settings: ApplySettings): void {
  app.register(async (pages) => {
    acceptMultipart(pages, 1024 * 1024);
    const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

    const invitationsPage = async (request: FastifyRequest) => {
      const user = signedIn(request).person.uuid;
      const { organisations } = await authorityFor(cim.db, user, "apply.invite");
      const places = [...new Set(signedIn(request).holdings.map((holding) => holding.odsCode))];
      const mayInviteAt = [];
      for (const ods of places)
        if ((await decide(cim.db, user, "apply.invite", { ods })).allowed) mayInviteAt.push(ods);
      return {
        pageTitle: "Apply for Care ID",
        organisations: mayInviteAt,
        mayInvite: organisations.length > 0,
        mayReview: (await authorityFor(cim.db, user, "apply.review")).organisations.length > 0,
        invitations: await listInvitations(cim.db, user),
      };
    };

    pages.get("/apply", async (request, reply) =>
      renderCimPage(request, reply, "apply-invitations.njk", {
        values: {},
        ...(await invitationsPage(request)),
      }),
    );

    pages.post("/apply/invitations", async (request, reply) =>
      actOnForm(
        request,
        reply,
        async () => {
          await inviteApplicant(cim.db, applyActor(request), cim.sealer, settings, {
            ...formOf(request),
            ...commonOf(request),
          });
          return "/cim/apply?done=invited";
        },
        { view: "apply-invitations.njk", context: () => invitationsPage(request), labels },
      ),
    );

    pages.post("/apply/invitations/file", async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const form = formOf(request);
      const file = isUploadedFile(body.file) ? body.file.data.toString("utf8") : (form.fileText ?? "");
      const confirmGoodRows = form.confirmGoodRows === "yes";
      return actOnForm(
        request,
        reply,
        async () => {
          if (!file.trim()) throw InvalidInputError.field("file", "choose a CSV file to upload");
          const { invited } = await inviteFromFile(cim.db, applyActor(request), cim.sealer, settings, {
            odsCode: form.odsCode,
            file,
            confirmGoodRows,
            ...commonOf(request),
          });
          return `/cim/apply?done=invited-many&count=${invited.length}`;
        },
        {
          view: "apply-invitations.njk",
          context: async () => {
            let rows: ReturnType<typeof readInviteeFile> | undefined;
            try {
              rows = readInviteeFile(file);
            } catch {
              rows = undefined;
            }
            return { ...(await invitationsPage(request)), rows, fileText: file, fileOds: form.odsCode };
          },
          labels,
        },
      );
    });

    for (const [path, done] of [
      ["resend", "resent"],
      ["withdraw", "withdrawn"],
    ] as const) {
      pages.post(`/apply/invitations/:id/${path}`, async (request, reply) =>
        actOnForm(
          request,
          reply,
          async () => {
            if (path === "resend")
              await resendInvitation(
                cim.db,
                applyActor(request),
                cim.sealer,
                settings,
                idOf(request),
                commonOf(request),
              );
            else await withdrawInvitation(cim.db, applyActor(request), idOf(request), commonOf(request));
            return `/cim/apply?done=${done}`;
          },
          { view: "apply-invitations.njk", context: () => invitationsPage(request), labels },
        ),
      );
    }

    pages.get("/apply/review", async (request, reply) =>
      renderCimPage(request, reply, "apply-queue.njk", {
        pageTitle: "Applications to review",
        applications: await reviewQueue(cim.db, signedIn(request).person.uuid),
      }),
    );

    const reviewing = async (request: FastifyRequest) => {
      const application = await applicationForReview(cim.db, applyActor(request), idOf(request));
      const user = signedIn(request).person.uuid;
      const live = (application.claimedUntil?.getTime() ?? 0) > Date.now();
      return {
        pageTitle: `Application from ${application.name}`,
        application,
        heldByMe: live && application.claimedBy === user,
        heldByOther: live && application.claimedBy !== user,
        ownInvitation: application.invitedBy === user,
        reasons: Object.entries(rejectionReasons).map(([value, reason]) => ({ value, text: reason.text })),
      };
    };

    pages.get("/apply/review/:id", async (request, reply) =>
      renderCimPage(request, reply, "apply-review.njk", { values: {}, ...(await reviewing(request)) }),
    );

    pages.get("/apply/review/:id/photos/:slot", async (request, reply) => {
      const slot = (request.params as { slot: string }).slot;
      if (!["photo-id", "second-document", "face"].includes(slot))
        throw InvalidInputError.field("slot", "is not a photo");
      const { mediaType, photo } = await documentPhoto(
        cim.db,
        applyActor(request),
        cim.sealer,
        idOf(request),
        slot as Slot,
      );
      return reply
        .header("cache-control", "no-store")
        .header("content-disposition", "inline")
        .header("x-content-type-options", "nosniff")
        .type(mediaType)
        .send(photo);
    });

    for (const path of ["claim", "approve", "reject"] as const) {
      pages.post(`/apply/review/:id/${path}`, async (current, reply) =>
        actOnForm(
          current,
          reply,
          async () => {
            const input = {
              ...commonOf(current),
              version: formOf(current).version,
              rejection: formOf(current).rejection,
            };
            if (path === "claim") {
              await claimApplication(cim.db, applyActor(current), idOf(current));
              return `/cim/apply/review/${idOf(current)}`;
            }
            if (path === "approve") {
              await approveApplication(
                cim.db,
                applyActor(current),
                cim.sealer,
                settings,
                idOf(current),
                input,
              );
              return "/cim/apply/review?done=application-approved";
            }
            await rejectApplication(cim.db, applyActor(current), cim.sealer, settings, idOf(current), input);
            return "/cim/apply/review?done=application-rejected";
          },
          { view: "apply-review.njk", context: () => reviewing(current), labels },
        ),
      );
    }
  });
}
