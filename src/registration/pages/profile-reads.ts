import { sql } from "kysely";
import { Problems } from "../../errors.ts";
import { checkNiNumber } from "../../people/validation.ts";
import type { Queryable } from "../../store/database.ts";

/** What the find-a-profile form asks: any of these, at least one. */
export type ProfileQuery = { name: string; uuid: string; email: string; niNumber: string; ods: string };

export type FoundProfile = {
  uuid: string;
  name: string;
  email: string | null;
  status: string;
  organisations: string[];
};

const pageSize = 50;

export function checkProfileQuery(input: Record<string, unknown>): ProfileQuery {
  const text = (field: string) => (typeof input[field] === "string" ? (input[field] as string).trim() : "");
  const query = {
    name: text("name"),
    uuid: text("uuid"),
    email: text("email").toLowerCase(),
    niNumber: text("niNumber").toUpperCase().replaceAll(" ", ""),
    ods: text("ods").toUpperCase(),
  };
  const problems = new Problems();
  if (!Object.values(query).some(Boolean))
    problems.add("name", "Enter a name, UUID, email address, National Insurance number or organisation code");
  if (query.uuid && !/^\d{12}$/.test(query.uuid))
    problems.add("uuid", "A UUID is 12 digits, like 555000000010");
  if (query.niNumber && checkNiNumber(new Problems(), query.niNumber) === null)
    problems.add("niNumber", "Enter a National Insurance number in the right format, like QQ 12 34 56 C");
  if (query.ods && !/^[A-Z0-9]{3,10}$/.test(query.ods))
    problems.add("ods", "An organisation code is 3 to 10 letters and digits, like RZZ");
  if (query.email && !query.email.includes("@")) problems.add("email", "Enter a whole email address");
  problems.throwIfAny();
  return query;
}

/**
 * Profiles matching every criterion given: the name as a surname prefix (or "given surname"),
 * the rest exactly; the organisation by a current position there.
 */
export async function findProfiles(queryable: Queryable, query: ProfileQuery): Promise<FoundProfile[]> {
  let select = queryable
    .selectFrom("people as p")
    .select([
      "p.uuid",
      "p.title",
      "p.given_name",
      "p.family_name",
      "p.email",
      "p.status",
      sql<
        string[]
      >`ARRAY(SELECT DISTINCT o.ods_code FROM positions o WHERE o.uuid = p.uuid AND o.status = 'active' ORDER BY o.ods_code)`.as(
        "organisations",
      ),
    ]);
  if (query.uuid) select = select.where("p.uuid", "=", query.uuid);
  if (query.email) select = select.where(sql`lower(p.email)`, "=", query.email);
  if (query.niNumber) select = select.where("p.ni_number", "=", query.niNumber);
  if (query.ods)
    select = select.where(({ exists, selectFrom }) =>
      exists(
        selectFrom("positions as at")
          .select("at.uuid")
          .whereRef("at.uuid", "=", "p.uuid")
          .where("at.ods_code", "=", query.ods)
          .where("at.status", "=", "active"),
      ),
    );
  if (query.name) {
    const words = query.name.toLowerCase().split(/\s+/);
    const surname = (words.at(-1) ?? "").replace(/[\\%_]/g, "\\$&");
    select = select.where(sql`lower(p.family_name)`, "like", `${surname}%`);
    if (words.length > 1) {
      const given = (words[0] ?? "").replace(/[\\%_]/g, "\\$&");
      select = select.where(sql`lower(p.given_name)`, "like", `${given}%`);
    }
  }
  const rows = await select
    .orderBy(sql`lower(p.family_name)`)
    .orderBy(sql`lower(p.given_name)`)
    .orderBy("p.uuid")
    .limit(pageSize)
    .execute();
  return rows.map((row) => ({
    uuid: row.uuid,
    name: [row.title, row.given_name, row.family_name].filter(Boolean).join(" "),
    email: row.email,
    status: row.status,
    organisations: row.organisations,
  }));
}

export type HeldAuthenticator = { kind: string; id: string; added: Date; lastUsed: Date | null };

/** The authenticators a profile holds, as CIM lists them. */
export async function authenticatorsOf(queryable: Queryable, uuid: string): Promise<HeldAuthenticator[]> {
  const [app, credentials] = await Promise.all([
    queryable
      .selectFrom("totp_authenticators")
      .select(["created_at", "last_used_at"])
      .where("uuid", "=", uuid)
      .executeTakeFirst(),
    queryable
      .selectFrom("webauthn_credentials")
      .select(["credential_id", "method", "created_at", "last_used_at"])
      .where("uuid", "=", uuid)
      .orderBy("created_at")
      .execute(),
  ]);
  return [
    ...(app
      ? [{ kind: "Authenticator app", id: "totp", added: app.created_at, lastUsed: app.last_used_at }]
      : []),
    ...credentials.map((credential) => ({
      kind: credential.method === "FIDO2" ? "Security key" : `Passkey (${credential.method})`,
      id: credential.credential_id,
      added: credential.created_at,
      lastUsed: credential.last_used_at,
    })),
  ];
}

export type HistoryEntry = { at: Date; action: string; actor: string; reason: string | null; source: string };

/** The audit log's events about a profile and its positions, newest first. */
export async function historyOf(queryable: Queryable, uuid: string, limit = 50): Promise<HistoryEntry[]> {
  const rows = await queryable
    .selectFrom("audit_events")
    .select(["at", "action", "actor_kind", "actor_id", "reason", "source"])
    .where((eb) =>
      eb.or([
        eb("subject_id", "=", uuid),
        eb("subject_id", "in", eb.selectFrom("positions").select("role_profile_id").where("uuid", "=", uuid)),
      ]),
    )
    .orderBy("seq", "desc")
    .limit(limit)
    .execute();
  return rows.map((row) => ({
    at: row.at,
    action: row.action,
    actor:
      row.actor_kind === "person" ? String(row.actor_id) : `${row.actor_kind} ${row.actor_id ?? ""}`.trim(),
    reason: row.reason,
    source: row.source,
  }));
}
