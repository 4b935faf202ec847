import type { FastifyReply, FastifyRequest } from "fastify";
import { InvalidInputError } from "../errors.ts";
import { hasNulByte } from "../store/text.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The route hands its request on unread to a component that checks its own input in its own
     * protocol (oidc-provider under the CIS2 realm): the service-wide NUL check leaves it alone.
     */
    checksOwnInput?: boolean;
  }
}

/**
 * Where a NUL byte sits in a parsed request part (names and values, at any depth), as a dotted
 * path such as `query.name`; undefined when there is none. PostgreSQL text cannot hold U+0000,
 * and no field of this service has a use for it.
 */
export function nulBytePath(value: unknown, path: string): string | undefined {
  if (typeof value === "string") return hasNulByte(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const found = nulBytePath(item, `${path}.${index}`);
      if (found) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === "object") {
    for (const [name, item] of Object.entries(value)) {
      if (hasNulByte(name)) return path;
      const found = nulBytePath(item, `${path}.${name}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The service's one early check of its input: a request whose path parameters, query or body
 * carry a NUL byte is refused as invalid input before any route reads it, and each interface's
 * error handler answers in its own convention (problem+json, OperationOutcome, an error page).
 * A callback hook, not an async one: it never waits, and every request passes through it.
 */
export function refuseNulBytes(
  request: FastifyRequest,
  _reply: FastifyReply,
  done: (error?: InvalidInputError) => void,
): void {
  done(request.routeOptions.config?.checksOwnInput ? undefined : nulByteError(request));
}

function nulByteError(request: FastifyRequest): InvalidInputError | undefined {
  for (const [part, value] of [
    ["path", request.params],
    ["query", request.query],
    ["body", request.body],
  ] as const) {
    const field = nulBytePath(value, part);
    if (field) {
      const name = field.split(".").at(-1) ?? part;
      return InvalidInputError.field(field, `${name} must not contain a NUL byte (%00)`);
    }
  }
  return undefined;
}
