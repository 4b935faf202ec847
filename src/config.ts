import { resolve } from "node:path";
import { readJsonFile } from "./json-file.ts";

/**
 * Every setting the service reads, its environment variable and its default, in one place.
 * A value may also come from a JSON file named by CAREID_CONFIG_FILE (keys are the variable
 * names); the environment wins over the file so an operator can override one value at a time.
 */
export type Config = {
  port: number;
  host: string;
  /** PostgreSQL connection string; absent means the embedded PGlite database. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** 32-byte key-encryption key; absent means a key file created in the data directory. */
  masterKey: Buffer | undefined;
  logLevel: LogLevel;
};

const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

export const settings = [
  { name: "PORT", default: "3000", meaning: "TCP port the HTTP server listens on (0 picks a free one)." },
  { name: "HOST", default: "127.0.0.1", meaning: "Address the HTTP server binds to." },
  {
    name: "DATABASE_URL",
    default: "(unset)",
    meaning: "PostgreSQL connection string (postgres://...). Unset: embedded PGlite under CAREID_DATA_DIR.",
  },
  {
    name: "CAREID_DATA_DIR",
    default: "./data",
    meaning: "Directory for the embedded database and key files.",
  },
  {
    name: "CAREID_MASTER_KEY",
    default: "(unset)",
    meaning: "Key-encryption key for secrets at rest: 32 bytes as 64 hex digits or base64.",
  },
  { name: "LOG_LEVEL", default: "info", meaning: `One of ${logLevels.join(", ")}.` },
  { name: "CAREID_CONFIG_FILE", default: "(unset)", meaning: "Optional JSON file of the settings above." },
] as const;

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.problems = problems;
  }
}

type Source = Record<string, string | undefined>;

export function loadConfig(environment: Source = process.env): Config {
  const source = { ...readConfigFile(environment.CAREID_CONFIG_FILE), ...definedOnly(environment) };
  const problems: string[] = [];
  const config: Config = {
    port: parsePort(source.PORT ?? "3000", problems),
    host: parseHost(source.HOST ?? "127.0.0.1", problems),
    databaseUrl: parseDatabaseUrl(source.DATABASE_URL, problems),
    dataDir: resolve(source.CAREID_DATA_DIR || "./data"),
    masterKey: parseMasterKey(source.CAREID_MASTER_KEY, problems),
    logLevel: parseLogLevel(source.LOG_LEVEL ?? "info", problems),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

function definedOnly(environment: Source): Source {
  return Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value !== ""),
  );
}

function readConfigFile(path: string | undefined): Source {
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

function parsePort(value: string, problems: string[]): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) {
    problems.push(`PORT must be a whole number from 0 to 65535, not "${value}"`);
  }
  return port;
}

function parseHost(value: string, problems: string[]): string {
  if (!/^[A-Za-z0-9.:[\]-]+$/.test(value))
    problems.push(`HOST must be a host name or IP address, not "${value}"`);
  return value;
}

function parseDatabaseUrl(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !["postgres:", "postgresql:"].includes(url.protocol)) {
    problems.push("DATABASE_URL must be a postgres:// or postgresql:// connection string");
  }
  return value;
}

function parseMasterKey(value: string | undefined, problems: string[]): Buffer | undefined {
  if (value === undefined) return undefined;
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, "hex") : Buffer.from(value, "base64");
  if (key.length !== 32) {
    problems.push("CAREID_MASTER_KEY must be 32 bytes, written as 64 hex digits or base64");
  }
  return key;
}

function parseLogLevel(value: string, problems: string[]): LogLevel {
  const level = logLevels.find((candidate) => candidate === value);
  if (!level) problems.push(`LOG_LEVEL must be one of ${logLevels.join(", ")}, not "${value}"`);
  return level ?? "info";
}
