import { readdirSync, readFileSync } from "node:fs";
import { sql } from "kysely";
import type { Store } from "./database.ts";
import { startUpLockStatement } from "./start-up-lock.ts";

const migrationsDir = new URL("./migrations/", import.meta.url);

/**
 * Applies the SQL files in migrations/ in name order, each once, in its own transaction
 * together with its entry in schema_migrations. Several nodes may start at once: each
 * migration takes the start-up lock (start-up-lock.ts), and a node that loses the race finds the
 * migration recorded by the winner and moves on. Even the bookkeeping table is created under the
 * lock: two concurrent CREATE TABLE IF NOT EXISTS can both miss the table and one then fails.
 */
export async function migrate(store: Store): Promise<string[]> {
  // Looked for first: a node running as the least-privilege runtime role may not create tables,
  // even IF NOT EXISTS (PostgreSQL checks the right first), and has nothing to create once the
  // migration owner has migrated (docs/audit.md).
  const { rows } = await sql<{
    table: string | null;
  }>`SELECT to_regclass('schema_migrations')::text AS table`.execute(store.db);
  if (!rows[0]?.table)
    await store.runScript(`${startUpLockStatement};
      CREATE TABLE IF NOT EXISTS schema_migrations (
        name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: string[] = [];
  for (const name of migrationNames()) {
    if (await isApplied(store, name)) continue;
    const script = readFileSync(new URL(name, migrationsDir), "utf8");
    try {
      await store.runScript(
        `${startUpLockStatement};\n${script}\n;INSERT INTO schema_migrations (name) VALUES ('${name}');`,
      );
      applied.push(name);
    } catch (error) {
      if (!(await isApplied(store, name)))
        throw new Error(`Migration ${name} failed: ${(error as Error).message}`);
    }
  }
  return applied;
}

async function isApplied(store: Store, name: string): Promise<boolean> {
  const row = await store.db
    .selectFrom("schema_migrations")
    .select("name")
    .where("name", "=", name)
    .executeTakeFirst();
  return row !== undefined;
}

export function migrationNames(): string[] {
  return readdirSync(migrationsDir)
    .filter((name) => /^[0-9]{4}_[a-z0-9_-]+\.sql$/.test(name))
    .sort();
}
