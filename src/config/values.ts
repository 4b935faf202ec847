import { readJsonFile } from "../json-file.ts";

/**
 * The parts every setting is read with: where values come from (the environment over an
 * optional JSON file), the error a refused start throws, and the parsers of plain values
 * (lists, true or false, whole numbers in a range, ports, log levels). Each parser adds a
 * problem naming its setting instead of throwing, so one start reports every problem at once.
 */

export type Source = Record<string, string | undefined>;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    // One problem is one line, so a refused start says what is wrong in a single line.
    super(
      problems.length === 1
        ? `Invalid configuration: ${problems[0]}`
        : `Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.problems = problems;
  }
}

export function definedOnly(environment: Source): Source {
  return Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value !== ""),
  );
}

export function readConfigFile(path: string | undefined): Source {
  if (!path) return {};
  let parsed: unknown;
  try {
    parsed = readJsonFile(path);
  } catch (error) {
    throw new ConfigError([`CAREID_CONFIG_FILE ${(error as Error).message}`]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError([`CAREID_CONFIG_FILE ${path} must hold a JSON object of setting names to values`]);
  }
  return Object.fromEntries(Object.entries(parsed).map(([key, value]) => [key, String(value)]));
}

export function parseList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

export function parseBoolean(
  name: string,
  value: string | undefined,
  problems: string[],
): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === "true" || value === "false") return value === "true";
  problems.push(`${name} must be true or false, not "${value}"`);
  return undefined;
}

/** A whole number of units within a range; a problem naming the setting otherwise. */
export function parseWholeNumber(
  name: string,
  value: string,
  range: { from: number; to: number; unit: string },
  problems: string[],
): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < range.from || number > range.to)
    problems.push(
      `${name} must be a whole number of ${range.unit} from ${range.from} to ${range.to}, not "${value}"`,
    );
  return number;
}

export function parseNamedPort(name: string, value: string, problems: string[]): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535)
    problems.push(`${name} must be a whole number from 0 to 65535, not "${value}"`);
  return port;
}

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export type LogLevel = (typeof logLevels)[number];

export function parseLogLevel(value: string, problems: string[]): LogLevel {
  const level = logLevels.find((candidate) => candidate === value);
  if (!level) problems.push(`LOG_LEVEL must be one of ${logLevels.join(", ")}, not "${value}"`);
  return level ?? "info";
}
