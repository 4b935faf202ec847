import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { type Config, ConfigError } from "../config.ts";
import { type Sealer, sealerFor } from "./sealed.ts";

type KeySettings = Pick<Config, "masterKey" | "dataDir" | "databaseUrl">;

/**
 * The key-encryption key that seals secrets at rest. CAREID_MASTER_KEY (or the file named by
 * CAREID_MASTER_KEY_FILE) supplies it, and on PostgreSQL it must: every node of a cluster seals
 * and opens the same rows, and a key made on one machine's disk would leave the others unable to
 * read them (and be lost with that disk). Only the embedded database, one process on one
 * machine, may have a random key created once in its data directory, readable by the service's
 * user alone.
 */
export function loadMasterKey(config: KeySettings): Buffer {
  if (!config.masterKey && config.databaseUrl)
    throw new ConfigError([
      "CAREID_MASTER_KEY (or CAREID_MASTER_KEY_FILE) is required with DATABASE_URL: every node must share one key-encryption key",
    ]);
  const existing = existingMasterKey(config);
  if (existing) return existing;
  const path = join(config.dataDir, "master.key");
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    const descriptor = openSync(path, "wx", 0o600);
    writeSync(descriptor, key.toString("base64"));
    closeSync(descriptor);
    return key;
  } catch (error) {
    // Another process created it first: use theirs, so both seal with the same key.
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return decode(readFileSync(path, "utf8"), path);
    throw error;
  }
}

/**
 * The master key if there is one, configured or (embedded) in the data directory, without
 * creating one: for commands that must check what an existing key produced (`careid audit verify`).
 */
export function existingMasterKey(config: KeySettings): Buffer | undefined {
  if (config.masterKey) return config.masterKey;
  if (config.databaseUrl) return undefined;
  const path = join(config.dataDir, "master.key");
  try {
    return decode(readFileSync(path, "utf8"), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    return undefined;
  }
}

function decode(text: string, path: string): Buffer {
  const key = Buffer.from(text.trim(), "base64");
  if (key.length !== 32) throw new Error(`${path} does not hold a 32-byte key`);
  return key;
}

/** The sealer of the configured master key: what every command that opens sealed rows needs. */
export function sealerFromConfig(config: Config): Sealer {
  return sealerFor(loadMasterKey(config));
}
