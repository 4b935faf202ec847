import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * The key-encryption key that seals secrets at rest. CAREID_MASTER_KEY supplies it (every node
 * of a cluster must share it); without one, a random key is created once in the data
 * directory, readable by the service's user only, which suits a single node on one machine.
 */
export function loadMasterKey(configured: Buffer | undefined, dataDir: string): Buffer {
  const existing = existingMasterKey(configured, dataDir);
  if (existing) return existing;
  const path = join(dataDir, "master.key");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
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
 * The master key if there is one, configured or in the data directory, without creating one: for
 * commands that must check what an existing key produced (`careid audit verify`).
 */
export function existingMasterKey(configured: Buffer | undefined, dataDir: string): Buffer | undefined {
  if (configured) return configured;
  const path = join(dataDir, "master.key");
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
