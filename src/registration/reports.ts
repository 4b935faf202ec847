import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { InvalidInputError } from "../errors.ts";
import type { ReportKind } from "../ra-policy/policy.ts";
import { organisationsBelow } from "../rbac/organisations.ts";
import { inTransaction, type Queryable, type Tx } from "../store/database.ts";
import { authorised, recordAction, todayIso } from "./acting.ts";
import { type Audience, audiencesFor, type ProfileView, projectProfile } from "./profile-view.ts";
import { closedRequestDays } from "./requests.ts";

export const reportKinds: readonly ReportKind[] = [
  "users",
  "requests",
  "positions",
  "authenticators",
  "smartcards",
  "applications",
];

type Cell = string | number | Date | null | undefined;
export type Table = { columns: string[]; rows: Cell[][] };

/**
 * Reports whose figures another capability keeps in its own tables (Apply for Care ID's
 * applications), given by the composition (src/server.ts) so that registration reads no table
 * it does not own.
 */
export type OtherReports = Partial<Record<ReportKind, (tx: Tx, odsCode: string) => Promise<Table>>>;

/**
 * A report row about one person: the profile fields it shows and, for a row about one of their
 * positions, authenticators or cards, that entry as the one item of its part. Its cells are read
 * from the projection, so a field the reader may not see of this person is an empty cell, and a
 * row whose entry the reader may not see is left out.
 */
type PersonRow = {
  profile: ProfileView;
  part?: "positions" | "authenticators" | "smartcards";
  cells: (view: Partial<ProfileView>) => Cell[];
};
type PersonTable = { columns: string[]; rows: PersonRow[] };

/**
 * One cell of CSV (RFC 4180). A cell a spreadsheet would run as a formula is prefixed with an
 * apostrophe, so an exported name cannot execute anything.
 */
function csvCell(value: Cell): string {
  const text = value instanceof Date ? value.toISOString() : value == null ? "" : String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toCsv(table: Table): string {
  const lines = [table.columns, ...table.rows].map((row) => row.map(csvCell).join(","));
  return `${lines.join("\r\n")}\r\n`;
}

/** A report for an organisation and those below it, as CSV. Running one is recorded. */
export async function runReport(
  queryable: Queryable,
  actor: Actor,
  input: { kind: string; odsCode: string },
  otherReports: OtherReports = {},
): Promise<{ filename: string; csv: string; rows: number }> {
  const kind = input.kind as ReportKind;
  const other = otherReports[kind];
  const report: Report | undefined = reports[kind] ?? (other && { other });
  if (!reportKinds.includes(kind) || !report) {
    const kept = reportKinds.filter((known) => reports[known] ?? otherReports[known]);
    throw InvalidInputError.field("kind", `must be one of ${kept.join(", ")}`);
  }
  const odsCode = String(input.odsCode ?? "").toUpperCase();
  if (!/^[A-Z0-9]{3,10}$/.test(odsCode)) throw InvalidInputError.field("odsCode", "must be an ODS code");
  return inTransaction(queryable, async (tx) => {
    const { acting } = await authorised(tx, actor, "report.run", { ods: odsCode, report: kind });
    const table =
      "people" in report
        ? await projectRows(tx, acting.id, await report.people(tx, odsCode))
        : await report.other(tx, odsCode);
    await recordAction(
      tx,
      acting,
      {
        action: "report.run",
        subject: { type: "organisation", id: odsCode },
        after: { kind, rows: table.rows.length },
      },
      {},
    );
    return { filename: `${kind}-${odsCode}-${todayIso()}.csv`, csv: toCsv(table), rows: table.rows.length };
  });
}

const inScope = (column: string, odsCode: string) =>
  sql<boolean>`${sql.ref(column)} IN (${organisationsBelow([odsCode])})`;

/** The people with a position at the organisation or below it, as a WITH clause named scope. */
const peopleInScope = (odsCode: string) =>
  sql`WITH scope AS (SELECT DISTINCT p.uuid FROM positions p WHERE ${inScope("p.ods_code", odsCode)})`;

/** Each person's row as the reader may see that person (profile-view.ts). */
async function projectRows(tx: Tx, readerUuid: string, table: PersonTable): Promise<Table> {
  const audiences = await audiencesFor(tx, readerUuid, [
    ...new Set(table.rows.map((row) => row.profile.uuid)),
  ]);
  const rows: Cell[][] = [];
  for (const row of table.rows) {
    const view = projectProfile(audiences.get(row.profile.uuid) as Audience, row.profile);
    if (row.part && !view[row.part]?.length) continue;
    rows.push(row.cells(view));
  }
  return { columns: table.columns, rows };
}

type Report =
  | { people: (tx: Tx, odsCode: string) => Promise<PersonTable> }
  | { other: (tx: Tx, odsCode: string) => Promise<Table> };

const reports: Partial<Record<ReportKind, Report>> = {
  users: { people: usersReport },
  requests: { other: requestsReport },
  positions: { people: positionsReport },
  authenticators: { people: authenticatorsReport },
  smartcards: { people: smartcardsReport },
};

async function usersReport(tx: Tx, odsCode: string): Promise<PersonTable> {
  const rows = await tx
    .selectFrom("people")
    .select([
      "uuid",
      "title",
      "given_name",
      "middle_names",
      "family_name",
      "status",
      "email",
      "identity_assurance_level",
      sql<number>`(SELECT count(*) FROM positions p WHERE p.uuid = people.uuid AND p.status = 'active')`.as(
        "positions",
      ),
    ])
    .where((eb) =>
      eb.or([
        eb.exists(
          eb
            .selectFrom("positions as p")
            .select("p.uuid")
            .whereRef("p.uuid", "=", "people.uuid")
            .where(inScope("p.ods_code", odsCode)),
        ),
        inScope("people.registering_ods_code", odsCode),
      ]),
    )
    .orderBy("family_name")
    .orderBy("given_name")
    .orderBy("uuid")
    .execute();
  return {
    columns: [
      "uuid",
      "title",
      "givenName",
      "middleNames",
      "familyName",
      "status",
      "email",
      "identityAssuranceLevel",
      "activePositions",
    ],
    rows: rows.map((row) => ({
      profile: {
        uuid: row.uuid,
        title: row.title,
        givenName: row.given_name,
        middleNames: row.middle_names,
        familyName: row.family_name,
        status: row.status,
        email: row.email,
        identityAssuranceLevel: row.identity_assurance_level,
      },
      // How many positions is not personal detail: everyone sees a person's current positions.
      cells: (view) => [
        view.uuid,
        view.title,
        view.givenName,
        view.middleNames,
        view.familyName,
        view.status,
        view.email,
        view.identityAssuranceLevel,
        Number(row.positions),
      ],
    })),
  };
}

async function requestsReport(tx: Tx, odsCode: string): Promise<Table> {
  const since = new Date(Date.now() - closedRequestDays * 86_400_000);
  const rows = await tx
    .selectFrom("registration_requests as r")
    .selectAll("r")
    .where(inScope("r.ods_code", odsCode))
    .where((eb) => eb.or([eb("r.status", "=", "open"), eb("r.decided_at", ">=", since)]))
    .orderBy("r.created_at")
    .execute();
  return {
    columns: [
      "id",
      "action",
      "status",
      "source",
      "odsCode",
      "subjectUuid",
      "requestedBy",
      "createdAt",
      "decidedBy",
      "decidedAt",
      "decisionReason",
    ],
    rows: rows.map((row) => [
      row.id,
      row.action,
      row.status,
      row.source,
      row.ods_code,
      row.subject_uuid,
      row.requested_by,
      row.created_at,
      row.decided_by,
      row.decided_at,
      row.decision_reason,
    ]),
  };
}

async function positionsReport(tx: Tx, odsCode: string): Promise<PersonTable> {
  const rows = await tx
    .selectFrom("positions as p")
    .innerJoin("people", "people.uuid", "p.uuid")
    .leftJoin("position_definitions as d", "d.id", "p.position_definition_id")
    .select([
      "p.role_profile_id",
      "p.assignment_id",
      "p.uuid",
      "people.family_name",
      "people.given_name",
      "p.ods_code",
      "d.name",
      "p.job_role_code",
      "p.start_date",
      "p.end_date",
      "p.status",
    ])
    .where(inScope("p.ods_code", odsCode))
    .orderBy("people.family_name")
    .orderBy("p.role_profile_id")
    .execute();
  return {
    columns: [
      "roleProfileId",
      "assignmentId",
      "uuid",
      "familyName",
      "givenName",
      "odsCode",
      "position",
      "jobRole",
      "startDate",
      "endDate",
      "status",
    ],
    rows: rows.map((row) => ({
      profile: {
        uuid: row.uuid,
        familyName: row.family_name,
        givenName: row.given_name,
        positions: [{ status: row.status, startDate: row.start_date, endDate: row.end_date }],
      },
      part: "positions",
      cells: (view) => [
        row.role_profile_id,
        row.assignment_id,
        view.uuid,
        view.familyName,
        view.givenName,
        row.ods_code,
        row.name,
        row.job_role_code,
        row.start_date,
        row.end_date,
        row.status,
      ],
    })),
  };
}

async function authenticatorsReport(tx: Tx, odsCode: string): Promise<PersonTable> {
  const rows = await sql<{
    uuid: string;
    family_name: string;
    given_name: string;
    kind: "authenticator-app" | "security-key";
    method: string;
    created_at: Date;
    last_used_at: Date | null;
  }>`
    ${peopleInScope(odsCode)}
    SELECT person.uuid, person.family_name, person.given_name, a.kind, a.method, a.created_at, a.last_used_at
      FROM scope JOIN people person ON person.uuid = scope.uuid
      JOIN (
        SELECT uuid, 'authenticator-app' AS kind, 'TOTP' AS method, created_at, last_used_at FROM totp_authenticators
        UNION ALL
        SELECT uuid, 'security-key', method, created_at, last_used_at FROM webauthn_credentials
      ) a ON a.uuid = person.uuid
     ORDER BY person.family_name, person.uuid, a.created_at`.execute(tx);
  return {
    columns: ["uuid", "familyName", "givenName", "kind", "method", "createdAt", "lastUsedAt"],
    rows: rows.rows.map((row) => ({
      profile: {
        uuid: row.uuid,
        familyName: row.family_name,
        givenName: row.given_name,
        authenticators: [
          {
            id: row.kind,
            kind: row.kind,
            detail: row.method,
            createdAt: row.created_at,
            lastUsedAt: row.last_used_at,
          },
        ],
      },
      part: "authenticators",
      cells: (view) => [
        view.uuid,
        view.familyName,
        view.givenName,
        row.kind,
        row.method,
        row.created_at,
        row.last_used_at,
      ],
    })),
  };
}

async function smartcardsReport(tx: Tx, odsCode: string): Promise<PersonTable> {
  const rows = await sql<{
    uuid: string;
    family_name: string;
    given_name: string;
    serial: string;
    card_type: string | null;
    status: string;
    issued_at: Date;
    expires_at: Date | null;
  }>`
    ${peopleInScope(odsCode)}
    SELECT person.uuid, person.family_name, person.given_name, card.serial, card.card_type, card.status,
           card.issued_at,
           (SELECT min(c.not_after) FROM pki_certificates c
              LEFT JOIN pki_revocations r ON r.serial = c.serial
             WHERE c.card_serial = card.serial AND c.created_at >= card.issued_at AND r.serial IS NULL
           ) AS expires_at
      FROM scope JOIN people person ON person.uuid = scope.uuid
      JOIN smartcards card ON card.holder = person.uuid
     ORDER BY person.family_name, person.uuid, card.issued_at`.execute(tx);
  return {
    columns: ["uuid", "familyName", "givenName", "cardSerial", "cardType", "status", "issuedAt", "expiresAt"],
    rows: rows.rows.map((row) => ({
      profile: {
        uuid: row.uuid,
        familyName: row.family_name,
        givenName: row.given_name,
        smartcards: [
          {
            cardSerial: row.serial,
            status: row.status,
            expiresAt: row.expires_at === null ? null : new Date(row.expires_at).toISOString(),
          },
        ],
      },
      part: "smartcards",
      cells: (view) => [
        view.uuid,
        view.familyName,
        view.givenName,
        row.serial,
        row.card_type,
        row.status,
        row.issued_at,
        row.expires_at,
      ],
    })),
  };
}
