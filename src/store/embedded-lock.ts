import { closeSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * PGlite is a single-process database: two processes opening one data directory would corrupt
 * it. A lock file created exclusively in the data directory keeps a second process out; a lock
 * left by a process that died (a kill -9) is recognised by its dead pid and taken over.
 */
export type EmbeddedLock = { release(): void };

export class DatabaseBusyError extends Error {
  readonly holder: LockHolder;
  constructor(dataDir: string, holder: LockHolder) {
    super(
      `The embedded database in ${dataDir} is in use by another careid process ` +
        `(pid ${holder.pid}, "${holder.purpose}", since ${holder.since}). ` +
        "Stop that process and try again, or run against PostgreSQL with DATABASE_URL, " +
        "which many processes can share.",
    );
    this.holder = holder;
  }
}

type LockHolder = { pid: number; purpose: string; since: string };

export function acquireEmbeddedLock(dataDir: string, purpose: string): EmbeddedLock {
  const path = join(dataDir, "careid.lock");
  const holder: LockHolder = { pid: process.pid, purpose, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const descriptor = openSync(path, "wx", 0o600);
      writeSync(descriptor, JSON.stringify(holder));
      closeSync(descriptor);
      return lockAt(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const current = readHolder(path);
      if (current && isAlive(current.pid) && current.pid !== process.pid) {
        throw new DatabaseBusyError(dataDir, current);
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`Could not take the lock ${path}: another process keeps replacing it`);
}

function lockAt(path: string): EmbeddedLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    if (readHolder(path)?.pid === process.pid) rmSync(path, { force: true });
    process.off("exit", release);
  };
  process.on("exit", release);
  return { release };
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
