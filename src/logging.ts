import type { FastifyRequest } from "fastify";
import type { LoggerOptions } from "pino";
import type { LogLevel } from "./config.ts";

const censor = "[redacted]";

/**
 * JSON logs. Anything that can carry a credential is censored wherever it appears: request
 * headers, fields named for secrets in any logged object, the parameters of a failed database
 * query (a search's name or NI number), and the secrets and personal data a request's URL holds
 * (see `loggedUrl`).
 */
export function loggerOptions(level: LogLevel): LoggerOptions {
  return {
    level,
    redact: {
      paths: [
        "req.headers.authorization",
        "req.headers.cookie",
        'res.headers["set-cookie"]',
        "*.password",
        "*.secret",
        "*.client_secret",
        "*.token",
        "*.masterKey",
        "*.passcode",
        "err.params",
        "err.parameters",
      ],
      censor,
    },
    serializers: {
      // Fastify's request fields, with the URL as `loggedUrl` leaves it.
      req: (request: FastifyRequest) => ({
        method: request.method,
        url: typeof request.url === "string" ? loggedUrl(request.url) : undefined,
        host: request.host,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
  };
}

/** Path segments that are secrets themselves: an enrolment link's token. */
const secretSegments = [/^(\/authenticators\/enrol\/)[^/?]+/, /^(\/apply\/)[^/?]+/];

/**
 * Query parameters whose values are logged: protocol settings and paging, never a person's
 * data or a credential. Every other value (code, state, login_hint, id_token_hint, niNumber,
 * email, name, family, given, identifier, next, ...) is logged as [redacted], so a parameter
 * added later is kept out of the logs until someone decides it is harmless.
 */
const loggedParameters = new Set([
  "response_type",
  "response_mode",
  "scope",
  "client_id",
  "redirect_uri",
  "post_logout_redirect_uri",
  "prompt",
  "acr_values",
  "max_age",
  "ui_locales",
  "error",
  "error_description",
  "iss",
  "view",
  "limit",
  "offset",
  "_count",
  "_offset",
  "_include",
  "_revinclude",
  "active",
  "roleCode",
  "odsCode",
]);

/** A request URL as the logs may hold it: secret path segments and unlisted query values censored. */
export function loggedUrl(url: string): string {
  const question = url.indexOf("?");
  let path = question < 0 ? url : url.slice(0, question);
  for (const pattern of secretSegments) path = path.replace(pattern, `$1${censor}`);
  if (question < 0) return path;
  const query = url
    .slice(question + 1)
    .split("&")
    .map((pair) => {
      const equals = pair.indexOf("=");
      if (equals < 0) return loggedParameters.has(decoded(pair)) ? pair : censor;
      const name = pair.slice(0, equals);
      return loggedParameters.has(decoded(name)) ? pair : `${name}=${censor}`;
    })
    .join("&");
  return `${path}?${query}`;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}
