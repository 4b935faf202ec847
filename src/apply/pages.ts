import { fileURLToPath } from "node:url";
import fastifyCookie from "@fastify/cookie";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ConflictError, DomainError, InvalidInputError } from "../errors.ts";
import type { Sealer } from "../secrets/sealed.ts";
import type { Db } from "../store/database.ts";
import { type PageContext, pageRenderer } from "../web/pages.ts";
import { browserMayContinue, confirmMobile, getApplication, resendCode, saveDetails } from "./application.ts";
import {
  documentsOf,
  photoIdKinds,
  type Slot,
  saveDocument,
  secondDocumentKinds,
  submitApplication,
} from "./documents.ts";
import { ApplyLinkRefusedError, openInvitationLink } from "./invitation-link.ts";
import { acceptMultipart, isUploadedFile } from "./multipart.ts";

export const applyPath = "/apply";
const cookieName = "careid_apply";
const renderer = pageRenderer([fileURLToPath(new URL("./views/", import.meta.url))]);
const serviceName = "Apply for a Care ID";

type Params = { token: string };
type Body = Record<string, unknown>;

const slots: { slot: Slot; title: string; hint: string }[] = [
  {
    slot: "photo-id",
    title: "Your photo ID",
    hint: "Your passport, photocard driving licence or national identity card",
  },
  {
    slot: "second-document",
    title: "A second document or proof of address",
    hint: "Another photo ID, or a recent bill or statement with your address",
  },
  {
    slot: "face",
    title: "A photo of your face",
    hint: "Face the camera, in good light, with nothing covering your face",
  },
];

const labels: Record<string, string> = {
  givenName: "First name",
  middleNames: "Middle names",
  familyName: "Last name",
  dateOfBirth: "Date of birth",
  niNumber: "National Insurance number",
  mobile: "Mobile phone number",
  code: "Code",
  kind: "Document",
  reference: "Document number",
  machineReadableZone: "The lines at the foot of the photo page",
  expiresOn: "Expiry date",
  photo: "The photo",
  documents: "Your photos",
  status: "Your application",
};

function render(reply: FastifyReply, view: string, context: PageContext = {}, status = 200): FastifyReply {
  reply.header("cache-control", "no-store");
  return renderer.renderPage(reply, view, { serviceName, ...context }, status);
}

function errorsOf(problems: { field: string; message: string }[]) {
  const sentence = (problem: { field: string; message: string }) =>
    /^[a-z]/.test(problem.message)
      ? `${labels[problem.field] ?? problem.field} ${problem.message}`
      : problem.message;
  const fieldErrors: Record<string, { text: string }> = {};
  for (const problem of problems) fieldErrors[problem.field] ??= { text: sentence(problem) };
  return {
    errorList: problems.map((problem) => ({ text: sentence(problem), href: `#${problem.field}` })),
    fieldErrors,
  };
}

function textOf(body: Body): Record<string, string> {
  const form: Record<string, string> = {};
  // The design system names date parts dateOfBirth[day]; the pages call them dateOfBirth-day.
  for (const [name, value] of Object.entries(body ?? {}))
    if (typeof value === "string") form[name.replace(/\[(day|month|year)\]$/, "-$1")] = value.trim();
  return form;
}

function dateOf(form: Record<string, string>, name: string): string | undefined {
  const [day, month, year] = [form[`${name}-day`], form[`${name}-month`], form[`${name}-year`]];
  if (!day && !month && !year) return undefined;
  return `${year ?? ""}-${(month ?? "").padStart(2, "0")}-${(day ?? "").padStart(2, "0")}`;
}

/**
 * The applicant's pages behind their link: no account, just the link and (once their mobile
 * is confirmed) this browser's cookie. Every page opens the link afresh, so an expired,
 * withdrawn or used link answers with why wherever it is used.
 */
export function registerApplyPages(
  app: FastifyInstance,
  options: { db: Db; sealer: Sealer; secureCookies: boolean },
): void {
  const { db, sealer } = options;
  app.register(async (pages) => {
    await pages.register(fastifyCookie);
    // A photo of up to 10 MB and a few fields; anything larger is refused before it is read.
    acceptMultipart(pages, 12 * 1024 * 1024);
    pages.setErrorHandler((error, request, reply) => {
      if (error instanceof ApplyLinkRefusedError)
        return render(
          reply,
          "link-problem.njk",
          { pageTitle: "You cannot use this link", detail: error.message },
          error.reason === "unknown" ? 404 : 410,
        );
      if ((error as { code?: string }).code === "FST_ERR_CTP_BODY_TOO_LARGE")
        return render(
          reply,
          "link-problem.njk",
          {
            pageTitle: "That photo is too big",
            detail: "The photo must be at most 10 MB. Go back and choose a smaller one.",
          },
          413,
        );
      if (error instanceof DomainError)
        return render(
          reply,
          "link-problem.njk",
          { pageTitle: "There is a problem", detail: error.message.replace(/^[a-z]+: /i, "") },
          400,
        );
      request.log.error({ err: error }, "Apply for Care ID page failed");
      return render(
        reply,
        "link-problem.njk",
        { pageTitle: "Sorry, there is a problem with the service", detail: "Try again later." },
        500,
      );
    });

    /** Opens the link and checks this browser may work on it; otherwise asks for a new code. */
    const opened = async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const link = await openInvitationLink(db, request.params.token, request.id);
      const browser = await browserMayContinue(db, link.id, request.cookies[cookieName]);
      if (!browser.allowed) return { link, allowed: false as const };
      if (browser.newSecret) setCookie(reply, browser.newSecret);
      return { link, allowed: true as const, application: await getApplication(db, link.id) };
    };
    const setCookie = (reply: FastifyReply, secret: string) =>
      reply.setCookie(cookieName, secret, {
        path: applyPath,
        httpOnly: true,
        sameSite: "strict",
        secure: options.secureCookies,
        maxAge: 90 * 86_400,
      });
    const base = (token: string) => `${applyPath}/${token}`;

    pages.get<{ Params: Params }>(`${applyPath}/:token`, async (request, reply) => {
      const { token } = request.params;
      const state = await opened(request, reply);
      if (!state.allowed)
        return render(reply, "confirm-it-is-you.njk", { pageTitle: "Confirm it is you", token });
      const application = state.application;
      if (application.status === "referred")
        return render(reply, "referred.njk", {
          pageTitle: "You cannot apply online",
          referral: application.referral,
        });
      if (!application.details.mobile) return reply.redirect(`${base(token)}/details`, 303);
      if (!application.mobileConfirmed) return reply.redirect(`${base(token)}/mobile`, 303);
      const documents = await documentsOf(db, application.id);
      const have = new Set(documents.map((document) => document.slot));
      return render(reply, "documents.njk", {
        pageTitle: "Add photos of your documents",
        token,
        slots: slots.map((item) => ({ ...item, done: have.has(item.slot) })),
        ready: have.size === slots.length,
        values: {},
      });
    });

    const showDetails = (
      reply: FastifyReply,
      token: string,
      values: Record<string, string>,
      problems: { field: string; message: string }[] = [],
    ) =>
      render(
        reply,
        "details.njk",
        { pageTitle: "Your details", token, values, ...errorsOf(problems) },
        problems.length ? 400 : 200,
      );

    pages.get<{ Params: Params }>(`${applyPath}/:token/details`, async (request, reply) => {
      const state = await opened(request, reply);
      if (!state.allowed) return reply.redirect(base(request.params.token), 303);
      const details = state.application.details;
      const [year, month, day] = (details.dateOfBirth ?? "").split("-");
      return showDetails(reply, request.params.token, {
        ...(details as Record<string, string>),
        ...(details.dateOfBirth
          ? { "dateOfBirth-day": day ?? "", "dateOfBirth-month": month ?? "", "dateOfBirth-year": year ?? "" }
          : {}),
      });
    });

    pages.post<{ Params: Params; Body: Body }>(`${applyPath}/:token/details`, async (request, reply) => {
      const state = await opened(request, reply);
      if (!state.allowed) return reply.redirect(base(request.params.token), 303);
      const form = textOf(request.body);
      try {
        await saveDetails(
          db,
          sealer,
          state.link.id,
          { ...form, dateOfBirth: dateOf(form, "dateOfBirth"), noNiNumber: form.noNiNumber },
          request.id,
        );
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        return showDetails(reply, request.params.token, form, error.problems);
      }
      return reply.redirect(base(request.params.token), 303);
    });

    const showMobile = async (
      reply: FastifyReply,
      token: string,
      id: string,
      problems: { field: string; message: string }[] = [],
      sent = false,
    ) => {
      const application = await getApplication(db, id);
      const mobile = application.details.mobile ?? "";
      return render(
        reply,
        "mobile.njk",
        {
          pageTitle: "Check your phone",
          token,
          ending: mobile.slice(-3),
          sent,
          values: {},
          ...errorsOf(problems),
        },
        problems.length ? 400 : 200,
      );
    };

    pages.get<{ Params: Params }>(`${applyPath}/:token/mobile`, async (request, reply) => {
      const link = await openInvitationLink(db, request.params.token, request.id);
      return showMobile(reply, request.params.token, link.id);
    });

    // The mobile page is open to a browser without the cookie: confirming the code is what
    // proves the browser is the applicant's.
    pages.post<{ Params: Params; Body: Body }>(`${applyPath}/:token/mobile`, async (request, reply) => {
      const link = await openInvitationLink(db, request.params.token, request.id);
      try {
        const { browserSecret } = await confirmMobile(db, link.id, textOf(request.body).code, request.id);
        setCookie(reply, browserSecret);
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        return showMobile(reply, request.params.token, link.id, error.problems);
      }
      return reply.redirect(base(request.params.token), 303);
    });

    pages.post<{ Params: Params }>(`${applyPath}/:token/mobile/new-code`, async (request, reply) => {
      const link = await openInvitationLink(db, request.params.token, request.id);
      try {
        await resendCode(db, sealer, link.id, request.id);
      } catch (error) {
        if (!(error instanceof InvalidInputError)) throw error;
        return showMobile(reply, request.params.token, link.id, error.problems);
      }
      return showMobile(reply, request.params.token, link.id, [], true);
    });

    const showDocument = (
      reply: FastifyReply,
      token: string,
      slot: Slot,
      values: Record<string, string>,
      problems: { field: string; message: string }[] = [],
      status?: number,
    ) => {
      const item = slots.find((candidate) => candidate.slot === slot) as (typeof slots)[number];
      const kinds =
        slot === "photo-id" ? photoIdKinds : slot === "second-document" ? secondDocumentKinds : undefined;
      return render(
        reply,
        "document.njk",
        {
          pageTitle: item.title,
          hint: item.hint,
          token,
          slot,
          kinds:
            kinds &&
            Object.entries(kinds).map(([value, text]) => ({ value, text, checked: values.kind === value })),
          values,
          ...errorsOf(problems),
        },
        status ?? (problems.length ? 400 : 200),
      );
    };

    const slotOf = (request: FastifyRequest) => {
      const slot = (request.params as { slot: string }).slot;
      if (!slots.some((item) => item.slot === slot))
        throw InvalidInputError.field("slot", "is not a kind of photo we ask for");
      return slot as Slot;
    };

    pages.get<{ Params: Params & { slot: string } }>(
      `${applyPath}/:token/documents/:slot`,
      async (request, reply) => {
        const state = await opened(request, reply);
        if (!state.allowed) return reply.redirect(base(request.params.token), 303);
        return showDocument(reply, request.params.token, slotOf(request), {});
      },
    );

    pages.post<{ Params: Params & { slot: string }; Body: Body }>(
      `${applyPath}/:token/documents/:slot`,
      async (request, reply) => {
        const state = await opened(request, reply);
        if (!state.allowed) return reply.redirect(base(request.params.token), 303);
        const slot = slotOf(request);
        const body = (request.body ?? {}) as Body;
        const form = textOf(body);
        const photo = isUploadedFile(body.photo) ? body.photo.data : undefined;
        try {
          await saveDocument(
            db,
            sealer,
            state.link.id,
            slot,
            { ...form, expiresOn: dateOf(form, "expiresOn"), photo },
            request.id,
          );
        } catch (error) {
          if (!(error instanceof InvalidInputError)) throw error;
          return showDocument(reply, request.params.token, slot, form, error.problems);
        }
        return reply.redirect(base(request.params.token), 303);
      },
    );

    pages.post<{ Params: Params }>(`${applyPath}/:token/submit`, async (request, reply) => {
      const state = await opened(request, reply);
      if (!state.allowed) return reply.redirect(base(request.params.token), 303);
      try {
        await submitApplication(db, state.link.id, request.id);
      } catch (error) {
        if (error instanceof ConflictError)
          return render(
            reply,
            "link-problem.njk",
            {
              pageTitle: "Your application was already sent",
              detail: "We will email you when it has been reviewed.",
            },
            409,
          );
        throw error;
      }
      return render(reply, "submitted.njk", {
        pageTitle: "Application sent",
        email: state.application.email,
      });
    });
  });
}
