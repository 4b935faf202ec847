import { createHash } from "node:crypto";
import { type CompiledQuery, PGliteAdapter, type RawBuilder, sql } from "kysely";
import type { Db } from "../../store/database.ts";
import type { Entry } from "./entry.ts";

/**
 * One kind of entry in the tree (nhsPerson, nhsOrg, ...) and how to read it from the database.
 * The search plans against this description: `path` says where the kind sits, so a base DN binds
 * some of its keys; `narrowing` names the attributes whose equality assertions become indexed
 * SQL conditions, so a search by uid reads one row instead of 1.3 million.
 */
export type EntrySource = {
  name: string;
  /** RDNs from o=nhs down to the entry: a fixed value, or the key an entry's value binds. */
  path: PathStep[];
  objectClasses: string[];
  /** Every attribute an entry of this kind can carry (canonical names). */
  attributes: string[];
  /** Lower-case attribute name to the key an equality assertion on it narrows. */
  narrowing: Record<string, string>;
  /**
   * Entries in key order after a cursor, at most `limit` of them; every key given must match
   * one of its values (normalised: trimmed, lower case).
   */
  read(db: Db, keys: Keys, after: string | undefined, limit: number): Promise<Entry[]>;
  /** The cursor of an entry read by this source, to continue after it. */
  cursor(entry: Entry): string;
};

export type PathStep = { type: string; value: string } | { type: string; key: string };

export type Keys = Map<string, string[]>;

/** Today as the database sees dates: positions are current from their start to their end date. */
export function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** `column IN (values)`, or no condition when the key is not narrowed. */
export function inList(column: string, values: string[] | undefined): RawBuilder<boolean> {
  if (values === undefined) return sql<boolean>`true`;
  return sql<boolean>`${sql.ref(column)} IN (${sql.join(values)})`;
}

export function afterCursor(column: string, after: string | undefined): RawBuilder<boolean> {
  return after === undefined ? sql<boolean>`true` : sql<boolean>`${sql.ref(column)} > ${after}`;
}

/** Keys arrive normalised to lower case; ODS codes and party keys are stored in upper case. */
export const upper = (values: string[] | undefined): string[] | undefined =>
  values?.map((value) => value.toUpperCase());

/**
 * Runs a source's read as a named prepared statement on PostgreSQL: each pooled connection
 * parses and plans a query text once and then only binds and executes it, which takes most of
 * PostgreSQL's work off a one-row search (parse and plan cost about twice the execution).
 * The name is a hash of the text, so the same text is the same statement on every connection.
 * Texts differ only in how many values an IN list holds and which conditions apply, so there
 * are few; past `maximumStatements` further texts run unnamed, bounding what each PostgreSQL
 * session keeps. PGlite (one in-process connection) runs them as they are.
 */
export async function readRows<R>(db: Db, query: RawBuilder<R>): Promise<R[]> {
  const compiled = query.compile(db);
  const name = isPglite(db) ? undefined : statementName(compiled.sql);
  if (name === undefined) return (await db.executeQuery(compiled)).rows;
  // pg takes a query config ({ text, name }) where Kysely passes the text; Kysely hands it on as is.
  const named: CompiledQuery<R> = { ...compiled, sql: { text: compiled.sql, name } as unknown as string };
  return (await db.executeQuery(named)).rows;
}

/** PGlite: one in-process connection, which runs statements as given. */
export function isPglite(db: Db): boolean {
  return db.getExecutor().adapter instanceof PGliteAdapter;
}

const maximumStatements = 64;
const statementNames = new Map<string, string>();

function statementName(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < maximumStatements) {
    name = `ldap_${createHash("sha1").update(text).digest("hex").slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return name;
}
