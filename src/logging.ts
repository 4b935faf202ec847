import type { LoggerOptions } from "pino";
import type { LogLevel } from "./config.ts";

/**
 * JSON logs. Anything that can carry a credential is censored wherever it appears: request
 * headers, and fields named for secrets in any logged object.
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
      ],
      censor: "[redacted]",
    },
  };
}
