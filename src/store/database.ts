import { createHash } from "node:crypto";
import { mkdirSync } from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import {
  Kysely,
  type OperationNodeSource,
  PGliteDialect,
  PostgresDialect,
  type RawBuilder,
  sql,
  type Transaction,
} from "kysely";
import pg from "pg";
import { acquireEmbeddedLock, type EmbeddedLock } from "./embedded-lock.ts";
import type { Database } from "./schema.ts";

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;
/** Anything that can run a query: the database itself or a transaction in progress. */
export type Queryable = Db | Tx;

export type Store = {
  db: Db;
  kind: "postgres" | "pglite";
  /** Where the data lives, safe to print (no password). */
  location: string;
  /** Runs a multi-statement SQL script in one transaction (migrations). */
  runScript(script: string): Promise<void>;
  /** An image of the embedded database's files (PGlite only), to clone it quickly. */
  dump?(): Promise<Blob>;
  close(): Promise<void>;
};

export type StoreOptions =
  | { databaseUrl: string; poolSize?: number; onConnectionError?: (error: Error) => void }
  | { dataDir: string; purpose: string }
  | { memory: true; loadDataDir?: Blob };

/** The same JavaScript values from both drivers: dates as YYYY-MM-DD, bigints as numbers. */
const DATE_OID = 1082;
const INT8_OID = 20;
const parsers = {
  [DATE_OID]: (value: string) => value,
  [INT8_OID]: (value: string) => Number(value),
};

export async function openStore(options: StoreOptions): Promise<Store> {
  if ("databaseUrl" in options)
    return openPostgres(options.databaseUrl, options.poolSize ?? 10, options.onConnectionError);
  if ("memory" in options)
    return openPglite(await PGlite.create({ parsers, loadDataDir: options.loadDataDir }), "memory");
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const lock = acquireEmbeddedLock(options.dataDir, options.purpose);
  try {
    const pglite = await PGlite.create(`${options.dataDir}/pgdata`, { parsers });
    return await openPglite(pglite, options.dataDir, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** How long a request waits for a connection before it is told the database is unavailable. */
const connectionTimeoutMilliseconds = 5000;

async function openPostgres(
  databaseUrl: string,
  poolSize: number,
  onConnectionError: (error: Error) => void = () => {},
): Promise<Store> {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMilliseconds,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid in parsers ? parsers[oid as keyof typeof parsers] : pg.types.getTypeParser(oid, format)) as never,
    },
  });
  pool.on("connect", (client) => {
    prepareStatements(client);
    beginWithFirstStatement(client);
    // A connection that dies while a request holds it (PostgreSQL restarted or failed over)
    // fails that request's query, and the pool discards it when it is released. node-postgres
    // also emits the error on the connection, which would end the process with no listener.
    client.on("error", onConnectionError);
  });
  // The same for a connection that dies while idle: the pool drops it, the next query opens a new one.
  pool.on("error", onConnectionError);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const url = new URL(databaseUrl);
  url.password = "";
  return {
    db,
    kind: "postgres",
    location: url.toString(),
    async runScript(script) {
      const client = await pool.connect();
      try {
        await client.query(`BEGIN;\n${script}\n;COMMIT;`);
        client.release();
      } catch (error) {
        // A dead connection cannot roll back; releasing it with the error discards it.
        await client.query("ROLLBACK").catch(() => {});
        client.release(error as Error);
        throw error;
      }
    },
    close: () => db.destroy(),
  };
}

/**
 * Runs every statement that takes values as a named prepared statement: each pooled connection
 * parses and plans a text once and afterwards only binds and executes it, which takes much of
 * PostgreSQL's work off the short statements a request makes (parse and plan cost more than
 * executing a one-row lookup). The name is a hash of the text, so a text is the same statement
 * on every connection. Past `maximumStatements` texts (IN lists of many lengths, bulk inserts),
 * further texts run unnamed, bounding what each PostgreSQL session keeps. Statements are
 * prepared after the schema is migrated: a table altered under a prepared statement would fail
 * it ("cached plan must not change result type").
 */
function prepareStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    if (typeof config === "string" && Array.isArray(values) && values.length > 0) {
      const name = statementName(config);
      if (name) return query({ name, text: config, values }, callback);
    }
    return query(config, values, callback);
  }) as typeof client.query;
}

/**
 * Sends a transaction's BEGIN with its first statement, in one round trip, when that statement
 * takes no values (the audit head's lock, which begins most audited transactions). Kysely sends
 * `begin` alone; it is held here, answered at once, and sent as `begin; <statement>` in the simple
 * query protocol, which runs several statements in one message and answers each (the last is the
 * statement's). A first statement with values needs the extended protocol, one statement a
 * message, so the BEGIN goes just before it; a transaction that ends before any statement never
 * began on the server, so its COMMIT or ROLLBACK is answered here too.
 */
function beginWithFirstStatement(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  let held = false;
  const answered = (command: string) => Promise.resolve({ command, rowCount: null, rows: [], fields: [] });
  client.query = ((config: unknown, values?: unknown, callback?: unknown) => {
    // A statement without values, as its text; Kysely's transaction commands come exactly so.
    const simple =
      typeof config === "string" && callback === undefined && !(Array.isArray(values) && values.length > 0)
        ? config
        : undefined;
    if (simple === "begin") {
      held = true;
      return answered("BEGIN");
    }
    if (!held) return query(config, values, callback);
    held = false;
    if (simple === "commit" || simple === "rollback") return answered(simple.toUpperCase());
    if (simple !== undefined)
      return query(`begin; ${simple}`).then((results) => (results as unknown[]).at(-1));
    return query("begin").then(() => query(config, values, callback));
  }) as typeof client.query;
}

const maximumStatements = 1000;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < maximumStatements) {
    name = `s_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return name;
}

async function openPglite(pglite: PGlite, location: string, lock?: EmbeddedLock): Promise<Store> {
  const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
  return {
    db,
    kind: "pglite",
    location,
    async runScript(script) {
      await pglite.transaction(async (transaction) => {
        await transaction.exec(script);
      });
    },
    dump: () => pglite.dumpDataDir("none"),
    async close() {
      await db.destroy();
      // Kysely closes PGlite only if it ever queried it; a store opened and left unused must close too.
      if (!pglite.closed) await pglite.close();
      lock?.release();
    },
  };
}

/** Runs work in a transaction, or inside the caller's transaction when given one. */
export async function inTransaction<T>(queryable: Queryable, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (queryable.isTransaction) return work(queryable as Tx);
  return (queryable as Db).transaction().execute(work);
}

/**
 * Writes made as common table expressions of one statement (`name0 AS (...), name1 AS (...)`):
 * PostgreSQL makes every one of them, so several writes take one round trip.
 */
export function writeTables(writes: OperationNodeSource[], name: string): RawBuilder<unknown> {
  return sql.join(writes.map((write, index) => sql`${sql.id(`${name}${index}`)} AS (${write})`));
}
