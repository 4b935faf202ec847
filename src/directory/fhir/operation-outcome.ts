import type { FastifyError } from "fastify";
import { DomainError, ForbiddenError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { isDatabaseUnavailable } from "../../store/unavailable.ts";

/**
 * A failure as a FHIR API reports it: an HTTP status, a FHIR issue type and a Spine error code
 * (the codes national FHIR APIs put in `details`). Every step of a FHIR route throws one of
 * these; `operationOutcomeFor` is the one place any error becomes an OperationOutcome.
 */
export class FhirError extends Error {
  readonly statusCode: number;
  readonly issueCode: string;
  readonly spineCode: string;
  constructor(statusCode: number, issueCode: string, spineCode: string, message: string) {
    super(message);
    this.statusCode = statusCode;
    this.issueCode = issueCode;
    this.spineCode = spineCode;
    this.name = new.target.name;
  }
  static invalidParameter(message: string): FhirError {
    return new FhirError(400, "value", "INVALID_PARAMETER", message);
  }
  static missingParameter(message: string): FhirError {
    return new FhirError(400, "required", "MISSING_PARAMETER", message);
  }
  static notFound(message: string): FhirError {
    return new FhirError(404, "not-found", "RESOURCE_NOT_FOUND", message);
  }
  static gone(message: string): FhirError {
    return new FhirError(410, "deleted", "RESOURCE_DELETED", message);
  }
  static unauthorised(message: string): FhirError {
    return new FhirError(401, "security", "ACCESS_DENIED", message);
  }
  static notAcceptable(message: string): FhirError {
    return new FhirError(406, "not-supported", "NOT_ACCEPTABLE", message);
  }
  static tooManyRequests(message: string): FhirError {
    return new FhirError(429, "throttled", "TOO_MANY_REQUESTS", message);
  }
}

export type OperationOutcome = {
  resourceType: "OperationOutcome";
  issue: {
    severity: "error" | "fatal";
    code: string;
    details: { coding: { system: string; code: string; display: string }[] };
    diagnostics: string;
  }[];
};

const spineErrorCodes = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode";

export function operationOutcomeFor(error: unknown): { status: number; outcome: OperationOutcome } {
  const failure = asFhirError(error);
  return {
    status: failure.statusCode,
    outcome: {
      resourceType: "OperationOutcome",
      issue: [
        {
          severity: failure.statusCode >= 500 ? "fatal" : "error",
          code: failure.issueCode,
          details: {
            coding: [
              {
                system: spineErrorCodes,
                code: failure.spineCode,
                display: failure.spineCode.replaceAll("_", " ").toLowerCase(),
              },
            ],
          },
          diagnostics: failure.message,
        },
      ],
    },
  };
}

function asFhirError(error: unknown): FhirError {
  if (error instanceof FhirError) return error;
  if (error instanceof InvalidInputError) return FhirError.invalidParameter(error.message);
  if (error instanceof NotFoundError) return FhirError.notFound(error.message);
  if (error instanceof ForbiddenError) return new FhirError(403, "forbidden", "ACCESS_DENIED", error.message);
  if (error instanceof DomainError)
    return new FhirError(422, "processing", "UNPROCESSABLE_ENTITY", error.message);
  if (isDatabaseUnavailable(error))
    return new FhirError(
      503,
      "transient",
      "SERVICE_UNAVAILABLE",
      "The directory is unavailable for a moment; retry shortly",
    );
  const fastifyError = error as FastifyError;
  if (fastifyError.validation) return FhirError.invalidParameter(fastifyError.message);
  if (fastifyError.statusCode === 429) return FhirError.tooManyRequests(fastifyError.message);
  if (fastifyError.statusCode && fastifyError.statusCode < 500)
    return new FhirError(fastifyError.statusCode, "invalid", "BAD_REQUEST", fastifyError.message);
  return new FhirError(
    500,
    "exception",
    "INTERNAL_SERVER_ERROR",
    "Something went wrong on our side; it has been logged",
  );
}
