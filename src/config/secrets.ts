import { readFileSync } from "node:fs";
import { relative, resolve } from "node:path";
import type { Source } from "./values.ts";

/** The database, the master key and the PKCS#11 tokens: the settings that hold or reach secrets. */

/** A PKCS#11 token's module, label and PIN (CAREID_CA_*, CAREID_SIGNING_*). */
export type TokenSettings = { modulePath: string; tokenLabel: string; pin: string };

export function parseDatabaseUrl(value: string | undefined, problems: string[]): string | undefined {
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

export function parseMasterKey(
  source: Source,
  config: { dataDir: string; databaseUrl: string | undefined },
  problems: string[],
): Buffer | undefined {
  const { CAREID_MASTER_KEY: value, CAREID_MASTER_KEY_FILE: file } = source;
  if (value !== undefined && file !== undefined) {
    problems.push("CAREID_MASTER_KEY and CAREID_MASTER_KEY_FILE are both set: give the key one way");
    return undefined;
  }
  if (file !== undefined) return masterKeyFromFile(file, config, problems);
  if (value === undefined) return undefined;
  const key = decodeMasterKey(value);
  if (!key) problems.push("CAREID_MASTER_KEY must be 32 bytes, written as 64 hex digits or base64");
  return key;
}

/** A key the operator supplies as a file; on PostgreSQL not the data directory's own (node-local) file. */
function masterKeyFromFile(
  file: string,
  config: { dataDir: string; databaseUrl: string | undefined },
  problems: string[],
): Buffer | undefined {
  const path = resolve(file);
  if (config.databaseUrl && !relative(config.dataDir, path).startsWith(".."))
    problems.push(
      `CAREID_MASTER_KEY_FILE ${path} lies inside CAREID_DATA_DIR: on PostgreSQL the key must come from outside a node's own files`,
    );
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    problems.push(`CAREID_MASTER_KEY_FILE ${path} cannot be read (${(error as NodeJS.ErrnoException).code})`);
    return undefined;
  }
  const key = decodeMasterKey(text.trim());
  if (!key)
    problems.push(`CAREID_MASTER_KEY_FILE ${path} must hold 32 bytes, written as 64 hex digits or base64`);
  return key;
}

function decodeMasterKey(value: string): Buffer | undefined {
  const key = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, "hex") : Buffer.from(value, "base64");
  return key.length === 32 ? key : undefined;
}

/** A PKCS#11 token's three settings under a prefix (CAREID_CA, CAREID_SIGNING): all or none. */
export function parseToken(
  source: Source,
  prefix: "CAREID_CA" | "CAREID_SIGNING",
  problems: string[],
): TokenSettings | undefined {
  const modulePath = source[`${prefix}_PKCS11_MODULE`];
  const tokenLabel = source[`${prefix}_PKCS11_TOKEN`];
  const pin = source[`${prefix}_PKCS11_PIN`];
  if (modulePath === undefined && tokenLabel === undefined && pin === undefined) return undefined;
  if (modulePath === undefined || tokenLabel === undefined || pin === undefined) {
    problems.push(
      `${prefix}_PKCS11_MODULE, ${prefix}_PKCS11_TOKEN and ${prefix}_PKCS11_PIN must be set together`,
    );
    return undefined;
  }
  return { modulePath, tokenLabel, pin };
}
