import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import { sql } from "kysely";
import type { Actor } from "../../audit/actor.ts";
import { recordEvent } from "../../audit/record.ts";
import { ConflictError, InvalidInputError, NotFoundError } from "../../errors.ts";
import { inTransaction, type Queryable } from "../../store/database.ts";
import { type DnPath, escapeDnValue } from "./dn.ts";

/**
 * Service accounts for simple bind. Each binds as cn=<name>,ou=Accounts,o=nhs (a name outside
 * the published tree) with a random password issued once. The database keeps only an scrypt
 * hash, so a copy of it does not let anyone bind.
 */
export type LdapAccount = { name: string; description: string | null; createdAt: Date; bindDn: string };

const namePattern = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const cost = { N: 16384, r: 8, p: 1 } as const;
const keyLength = 32;

export function accountBindDn(name: string): string {
  return `cn=${escapeDnValue(name)},ou=Accounts,o=nhs`;
}

/** The account a bind DN names, or undefined when it is not an account DN. */
export function accountNameOf(dn: DnPath): string | undefined {
  if (dn.length !== 3) return undefined;
  const [root, unit, leaf] = dn;
  if (!root || !unit || !leaf) return undefined;
  if (root.type !== "o" || root.value.toLowerCase() !== "nhs") return undefined;
  if (unit.type !== "ou" || unit.value.toLowerCase() !== "accounts") return undefined;
  if (leaf.type !== "cn" && leaf.type !== "commonname") return undefined;
  return leaf.value.toLowerCase();
}

function deriveKey(password: string | Buffer, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await deriveKey(password, salt, cost);
  return `scrypt$${cost.N}$${cost.r}$${cost.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

async function passwordMatches(password: Buffer, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split("$");
  if (scheme !== "scrypt" || !salt || !key) return false;
  const derived = await deriveKey(password, Buffer.from(salt, "base64"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return timingSafeEqual(derived, Buffer.from(key, "base64"));
}

/** Hashed once per process: checked against when no account has the name, to take equal time. */
let decoy: Promise<string> | undefined;

/** Checks a simple bind; true only for an existing account and its password. */
export async function verifyAccount(queryable: Queryable, name: string, password: Buffer): Promise<boolean> {
  const row = namePattern.test(name)
    ? (
        await sql<{
          password_hash: string;
        }>`SELECT password_hash FROM ldap_accounts WHERE name = ${name}`.execute(queryable)
      ).rows[0]
    : undefined;
  decoy ??= hashPassword(randomBytes(16).toString("hex"));
  const matched = await passwordMatches(password, row?.password_hash ?? (await decoy));
  return row !== undefined && matched;
}

/** Creates an account and returns it with its password, which is not kept and not shown again. */
export async function addAccount(
  queryable: Queryable,
  actor: Actor,
  input: { name: string; description?: string },
): Promise<LdapAccount & { password: string }> {
  const name = input.name.trim().toLowerCase();
  if (!namePattern.test(name))
    throw InvalidInputError.field(
      "name",
      "must be 1 to 64 lower-case letters, digits, dots, hyphens or underscores",
    );
  const password = randomBytes(24).toString("base64url");
  const passwordHash = await hashPassword(password);
  return inTransaction(queryable, async (tx) => {
    const existing = await sql`SELECT 1 FROM ldap_accounts WHERE name = ${name}`.execute(tx);
    if (existing.rows.length > 0)
      throw new ConflictError(`name: an LDAP account named ${name} already exists`, "name");
    const created = await sql<{ created_at: Date }>`
      INSERT INTO ldap_accounts (name, password_hash, description) VALUES (${name}, ${passwordHash}, ${input.description ?? null})
      RETURNING created_at`.execute(tx);
    await recordEvent(tx, actor, {
      action: "ldap-account.added",
      subject: { type: "ldap-account", id: name },
      after: { name, description: input.description ?? null },
    });
    return {
      name,
      description: input.description ?? null,
      createdAt: created.rows[0]?.created_at ?? new Date(),
      bindDn: accountBindDn(name),
      password,
    };
  });
}

export async function listAccounts(queryable: Queryable): Promise<LdapAccount[]> {
  const result = await sql<{ name: string; description: string | null; created_at: Date }>`
    SELECT name, description, created_at FROM ldap_accounts ORDER BY name`.execute(queryable);
  return result.rows.map((row) => ({
    name: row.name,
    description: row.description,
    createdAt: row.created_at,
    bindDn: accountBindDn(row.name),
  }));
}

export async function removeAccount(queryable: Queryable, actor: Actor, name: string): Promise<void> {
  await inTransaction(queryable, async (tx) => {
    const removed =
      await sql`DELETE FROM ldap_accounts WHERE name = ${name.toLowerCase()} RETURNING name`.execute(tx);
    if (removed.rows.length === 0)
      throw new NotFoundError("ldap-account", `No LDAP account is named ${name}`);
    await recordEvent(tx, actor, {
      action: "ldap-account.removed",
      subject: { type: "ldap-account", id: name.toLowerCase() },
    });
  });
}
