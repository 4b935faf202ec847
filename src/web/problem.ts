import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import {
  ConflictError,
  DomainError,
  type FieldProblem,
  ForbiddenError,
  InvalidInputError,
  NotFoundError,
} from "../errors.ts";
import { DatabaseBusyError } from "../store/embedded-lock.ts";
import { isDatabaseUnavailable } from "../store/unavailable.ts";
import { renderPage } from "./pages.ts";

/** RFC 9457 problem details, with the fields at fault under `errors`. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldProblem[];
};

const problemBase = "https://careid.example/problems/";

/** The one place a failure becomes an HTTP answer; every JSON route and page relies on it. */
export function problemFor(error: unknown): Problem {
  if (error instanceof InvalidInputError) {
    return {
      type: `${problemBase}invalid-input`,
      title: "Invalid input",
      status: 400,
      detail: error.message,
      errors: error.problems,
    };
  }
  if (error instanceof NotFoundError) {
    return { type: `${problemBase}not-found`, title: "Not found", status: 404, detail: error.message };
  }
  if (error instanceof ConflictError) {
    const errors = error.field ? [{ field: error.field, message: error.message }] : undefined;
    return { type: `${problemBase}conflict`, title: "Conflict", status: 409, detail: error.message, errors };
  }
  if (error instanceof ForbiddenError) {
    return { type: `${problemBase}forbidden`, title: "Forbidden", status: 403, detail: error.message };
  }
  if (error instanceof DomainError) {
    return {
      type: `${problemBase}${error.code}`,
      title: "Request refused",
      status: 422,
      detail: error.message,
    };
  }
  if (error instanceof DatabaseBusyError) {
    return {
      type: `${problemBase}unavailable`,
      title: "Service unavailable",
      status: 503,
      detail: "The database is busy",
    };
  }
  if (isDatabaseUnavailable(error)) {
    return {
      type: `${problemBase}unavailable`,
      title: "Service unavailable",
      status: 503,
      detail: `The service cannot reach its database for a moment. Try again in ${retryAfterSeconds} seconds.`,
    };
  }
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) {
    const errors = fastifyError.validation.map((issue) => ({
      field: `${fastifyError.validationContext ?? "request"}${issue.instancePath.replaceAll("/", ".")}`,
      message: issue.message ?? "is not valid",
    }));
    return {
      type: `${problemBase}invalid-input`,
      title: "Invalid input",
      status: 400,
      detail: fastifyError.message,
      errors,
    };
  }
  const status = fastifyError.statusCode && fastifyError.statusCode < 500 ? fastifyError.statusCode : 500;
  if (status < 500) {
    return {
      type: `${problemBase}http-${status}`,
      title: fastifyError.name || "Bad request",
      status,
      detail: fastifyError.message,
    };
  }
  return {
    type: `${problemBase}internal`,
    title: "Internal error",
    status: 500,
    detail: "Something went wrong on our side. It has been logged; quote the instance when reporting it.",
  };
}

/** Our faults are errors to look into; the database being away is a warning (readiness says so too). */
export function logFailure(request: FastifyRequest, problem: Problem, error: unknown): void {
  if (problem.status === 503) request.log.warn({ err: error }, "request refused: database unavailable");
  else if (problem.status >= 500) request.log.error({ err: error }, "request failed");
}

/** What a 503 asks callers to wait: about as long as a PostgreSQL restart or failover takes. */
export const retryAfterSeconds = 5;

export function wantsHtml(request: FastifyRequest): boolean {
  if (request.url.startsWith("/api/") || request.url.startsWith("/health") || request.url === "/metrics")
    return false;
  return (request.headers.accept ?? "").includes("text/html");
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, problem: Problem): FastifyReply {
  const instance = `urn:careid:request:${request.id}`;
  if (problem.status === 503) reply.header("retry-after", String(retryAfterSeconds));
  if (wantsHtml(request)) {
    const pageTitle =
      problem.status === 404
        ? "Page not found"
        : problem.status >= 500
          ? "Sorry, there is a problem with the service"
          : "There is a problem";
    // A sign-in whose interaction is gone is a page of its own: one heading, what to do.
    const expired = problem.errors?.length === 1 && problem.errors[0]?.field === "interaction";
    if (expired)
      return renderPage(
        reply,
        "error.njk",
        { pageTitle: "This sign-in has expired", detail: problem.errors?.[0]?.message, signIn: true },
        problem.status,
      );
    const errorList = problem.errors?.map((error) => ({ text: error.message }));
    const detail = errorList ? "" : problem.detail;
    return renderPage(
      reply,
      "error.njk",
      { pageTitle, detail, errorList, requestId: request.id, notFound: problem.status === 404 },
      problem.status,
    );
  }
  return reply
    .code(problem.status)
    .type("application/problem+json")
    .send({ ...problem, instance });
}
