import type { FastifyReply, FastifyRequest } from "fastify";
import { ConflictError, type FieldProblem, InvalidInputError } from "../../errors.ts";
import { formTokenField, submissionIdOf } from "../../web/first-party/form-tokens.ts";
import type { ActionCommon } from "../acting.ts";
import { errorsFrom, renderCimPage } from "./context.ts";

export type Form = Record<string, string>;

/** The posted form as text fields; a repeated field keeps its last value. */
export function formOf(request: FastifyRequest): Form {
  const body = (request.body ?? {}) as Record<string, unknown>;
  const form: Form = {};
  for (const [name, value] of Object.entries(body)) {
    const last = Array.isArray(value) ? value.at(-1) : value;
    if (typeof last === "string") form[name] = last.trim();
  }
  return form;
}

/** A date from the design system's three boxes (day, month, year) as YYYY-MM-DD, or what was typed. */
export function dateFrom(form: Form, name: string): string | undefined {
  // The design system names the boxes name[day]; older links and tests say name-day.
  const part = (unit: string) => form[`${name}-${unit}`] ?? form[`${name}[${unit}]`];
  const [day, month, year] = [part("day"), part("month"), part("year")];
  if (!day && !month && !year) return form[name] || undefined;
  return `${year ?? ""}-${(month ?? "").padStart(2, "0")}-${(day ?? "").padStart(2, "0")}`;
}

/** What every RA action carries from a form: reason, notes, and the form's submission id. */
export function commonOf(request: FastifyRequest): ActionCommon {
  const form = formOf(request);
  return {
    reason: form.reason || undefined,
    notes: form.notes || undefined,
    submissionId: submissionIdOf(form[formTokenField] ?? ""),
  };
}

/** A ConflictError's message starts with its field ("requestId: ..."); the page shows the rest. */
function problemOf(error: ConflictError): FieldProblem {
  const field = error.field ?? "form";
  return { field, message: error.message.replace(/^[A-Za-z]+: /, "") };
}

export type FormPage = {
  view: string;
  context: () => Promise<Record<string, unknown>>;
  labels?: Record<string, string>;
  fieldOf?: (field: string) => string;
};

/**
 * Runs a domain action from a form. Done: redirect (303) to where it says. Bad input or a
 * clash: the form again with the design system's error summary, nothing changed.
 */
export async function actOnForm(
  request: FastifyRequest,
  reply: FastifyReply,
  act: () => Promise<string>,
  form: FormPage,
): Promise<FastifyReply> {
  try {
    return reply.redirect(await act(), 303);
  } catch (error) {
    return showFormProblems(request, reply, error, form);
  }
}

/** The form again with the error summary, for bad input or a clash; anything else is thrown on. */
export async function showFormProblems(
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
  form: FormPage,
): Promise<FastifyReply> {
  let problems: FieldProblem[];
  let status: number;
  // The second submission of a form is the plugin's to show, wherever it is found.
  if (error instanceof ConflictError && error.field === "submissionId") throw error;
  if (error instanceof InvalidInputError) [problems, status] = [error.problems, 400];
  else if (error instanceof ConflictError) [problems, status] = [[problemOf(error)], 409];
  else throw error;
  const context = await form.context();
  return renderCimPage(
    request,
    reply,
    form.view,
    { values: formOf(request), ...context, ...errorsFrom(problems, form.labels, form.fieldOf) },
    status,
  );
}
