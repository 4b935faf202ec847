import { type TObject, type TProperties, Type } from "@sinclair/typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ActionCommon } from "../acting.ts";
import type { Outcome } from "../requests.ts";

export const Uuid = Type.String({
  pattern: "^[0-9]{12}$",
  description: "A 12-digit Care Identity identifier",
});
export const OdsCode = Type.String({
  pattern: "^[A-Za-z0-9]{3,10}$",
  description: "An ODS organisation code",
});
/**
 * Matches to skip in a list. Bounded, as every number the API takes: a larger one (say 20 nines)
 * is past what PostgreSQL's bigint holds, and would fail in the database instead of as input.
 */
export const Offset = Type.Integer({ minimum: 0, maximum: 1_000_000, description: "Matches to skip" });
/** A record's version, as PostgreSQL's integer holds it. */
export const Version = Type.Integer({ minimum: 1, maximum: 2_147_483_647 });
export const IsoDate = Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "YYYY-MM-DD" });

/** What every action body may carry: the RA's reason and notes, and a submission id. */
const commonFields = {
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
  notes: Type.Optional(Type.String({ maxLength: 4000 })),
  submissionId: Type.Optional(Type.String({ pattern: "^[A-Za-z0-9_-]{8,100}$" })),
};

export function ActionBody<T extends TProperties>(properties: T): TObject<T & typeof commonFields> {
  return Type.Object({ ...properties, ...commonFields });
}

/** A body of only the reason, notes and submission id. */
export const Reasoned = ActionBody({});

export const UuidParams = Type.Object({ uuid: Uuid });
export const IdParams = Type.Object({ id: Uuid });
export const OrganisationParams = Type.Object({ odsCode: OdsCode });

/** The body's reason, notes and submission id; an Idempotency-Key header stands for the last. */
export function commonOf(request: FastifyRequest, body: ActionCommon = {}): ActionCommon {
  const key = request.headers["idempotency-key"];
  return {
    reason: body.reason,
    notes: body.notes,
    submissionId: body.submissionId ?? (typeof key === "string" ? key : undefined),
  };
}

/** An action's body as the domain takes it: its own fields, with the common ones as commonOf reads them. */
export function actionOf<T extends ActionCommon>(request: FastifyRequest, body: T): T {
  return { ...body, ...commonOf(request, body) };
}

/** Done: 200 (or 201 for something new) with the result; left as a request: 202 with the request. */
export function sendOutcome<T>(reply: FastifyReply, outcome: Outcome<T>, doneStatus = 200) {
  return reply.code(outcome.outcome === "done" ? doneStatus : 202).send(outcome);
}
