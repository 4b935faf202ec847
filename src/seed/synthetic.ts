import { sql } from "kysely";
import type { Actor } from "../audit/actor.ts";
import { recordEvent } from "../audit/record.ts";
import type { Store } from "../store/database.ts";

/**
 * Bulk synthetic directory for scale tests: people with plausible names and positions at
 * synthetic GP practices, generated inside the database with set-based SQL (one round trip per
 * batch), since row-by-row inserts from Node could not load 1.3 million people in minutes.
 * Each batch commits with its own audit event, so a run stopped part-way keeps whole batches.
 */
export type SyntheticOptions = {
  people: number;
  positionsPerPerson: number;
  batchSize?: number;
  progress?: (line: string) => void;
};

const organisationCount = 2000;
const jobRoles = [
  "R8000",
  "R8001",
  "R8002",
  "R8003",
  "R8008",
  "R8009",
  "R8010",
  "R8006",
  "R8016",
  "R8024",
  "R0260",
  "R1290",
];
const givenNames =
  "Oliver Amelia George Isla Harry Ava Noah Mia Jack Ivy Leo Freya Arthur Lily Muhammad Florence Oscar Sophia Charlie Grace Jacob Willow Thomas Evie Aisha Priya Rahul Ananya Wei Mei Chen Kwame Ama Chidi Ngozi Fatima Omar Zainab Yusuf Hassan Siobhan Niamh Ciaran Aoife Rhys Cerys Dylan Megan Hamish Eilidh Tomasz Zofia Piotr Agnieszka Andrei Elena Luca Giulia Mateo Lucia Samuel Hannah Daniel Ruth Joseph Esther David Sarah".split(
    " ",
  );
const familyNames =
  "Smith Jones Taylor Brown Williams Wilson Johnson Davies Patel Robinson Wright Thompson Evans Walker White Roberts Green Hall Wood Jackson Clarke Khan Ahmed Ali Hussain Begum Singh Kaur Sharma Chen Wang Li Nguyen Okafor Mensah Adeyemi Owusu Kowalski Nowak Popescu Rossi Murphy Kelly O'Brien Byrne MacDonald Campbell Stewart Hughes Edwards Lewis Morgan Price Cohen Levy Hassan Ibrahim Yilmaz Demir Fernandes Silva".split(
    " ",
  );
const titles = ["Mr", "Mrs", "Ms", "Miss", "Dr", "Mx"];
/** NI number prefixes the demo directory does not use, so the two never collide. */
const niPrefixes = ["SA", "SB", "SC", "SE", "SG", "SH", "SJ", "SL", "SM", "SN"];

function textArray(values: string[]): string {
  return `ARRAY[${values.map((value) => `'${value.replaceAll("'", "''")}'`).join(",")}]::text[]`;
}

export async function seedSynthetic(
  store: Store,
  actor: Actor,
  options: SyntheticOptions,
): Promise<{ people: number; positions: number; seconds: number }> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 50_000;
  const progress = options.progress ?? (() => {});
  await ensureOrganisations(store, actor);
  const first = (await syntheticCount(store)) + 1;
  if (first + options.people - 1 > niPrefixes.length * 1_000_000) {
    throw new Error(`synthetic people are numbered up to ${niPrefixes.length * 1_000_000}`);
  }
  let positions = 0;
  for (let from = first; from < first + options.people; from += batchSize) {
    const to = Math.min(from + batchSize, first + options.people) - 1;
    positions += await loadBatch(store, actor, from, to, options.positionsPerPerson);
    const done = to - first + 1;
    const seconds = (performance.now() - started) / 1000;
    const rate = done / seconds;
    progress(
      `people ${done.toLocaleString("en-GB")}/${options.people.toLocaleString("en-GB")} ` +
        `(${((100 * done) / options.people).toFixed(1)}%), positions ${positions.toLocaleString("en-GB")}, ` +
        `${Math.round(rate).toLocaleString("en-GB")} people/s, about ${Math.round((options.people - done) / rate)} s to go`,
    );
  }
  if (store.kind === "postgres") await sql`ANALYZE people, positions, person_organisations`.execute(store.db);
  return { people: options.people, positions, seconds: (performance.now() - started) / 1000 };
}

async function syntheticCount(store: Store): Promise<number> {
  const result = await sql<{ count: number }>`
    SELECT count(*)::int AS count FROM people WHERE identity_evidence->>'method' = 'synthetic'`.execute(
    store.db,
  );
  return result.rows[0]?.count ?? 0;
}

async function ensureOrganisations(store: Store, actor: Actor): Promise<void> {
  await store.db.transaction().execute(async (tx) => {
    const inserted = await sql`
      INSERT INTO organisations (ods_code, name, type_code, type_name, status, city, postcode)
      SELECT 'ZS' || lpad(n::text, 4, '0'), 'Synthetic Practice ' || lpad(n::text, 4, '0'), 'RO76', 'GP PRACTICE', 'active',
             'Synthtown', 'ZZ' || (n % 99 + 1) || ' ' || (n % 9 + 1) || 'SY'
      FROM generate_series(1, ${organisationCount}) AS n
      ON CONFLICT (ods_code) DO NOTHING`.execute(tx);
    // Their one role, primary, as every organisation has (searches by role read these).
    await sql`
      INSERT INTO organisation_roles (ods_code, role_code, is_primary, active)
      SELECT ods_code, type_code, true, true FROM organisations WHERE ods_code LIKE 'ZS%'
      ON CONFLICT DO NOTHING`.execute(tx);
    if (Number(inserted.numAffectedRows ?? 0) > 0) {
      await recordEvent(tx, actor, {
        action: "seed.synthetic.organisations",
        subject: { type: "organisation", id: "ZS0001..ZS2000" },
        after: { organisations: Number(inserted.numAffectedRows) },
      });
    }
  });
}

/** Person i holds the whole part of the ratio in positions, and one more by chance for its fraction. */
async function loadBatch(
  store: Store,
  actor: Actor,
  from: number,
  to: number,
  ratio: number,
): Promise<number> {
  const whole = Math.floor(ratio);
  const fractionPerMille = Math.round((ratio - whole) * 1000);
  const statements = [
    `CREATE TEMP TABLE synthetic_people ON COMMIT DROP AS
      SELECT i, lpad(nextval('careid_identifiers')::text, 12, '0') AS uuid,
             (${textArray(givenNames)})[1 + (i * 7) % ${givenNames.length}] AS given_name,
             (${textArray(familyNames)})[1 + (i * 13 / 7) % ${familyNames.length}] AS family_name
      FROM generate_series(${from}, ${to}) AS i`,
    `INSERT INTO people (uuid, title, given_name, family_name, date_of_birth, ni_number, email, mobile,
                        identity_assurance_level, identity_evidence, status)
      SELECT uuid, (${textArray(titles)})[1 + i % ${titles.length}], given_name, family_name,
             date '1950-01-01' + (i * 37) % 18000,
             (${textArray(niPrefixes)})[1 + i / 1000000] || lpad((i % 1000000)::text, 6, '0') || chr(65 + i % 4),
             lower(replace(given_name || '.' || family_name, '''', '')) || '.' || i || '@synthetic.nhs.net',
             '07700' || lpad((i % 1000000)::text, 6, '0'),
             3, '{"method":"synthetic"}', 'active'
      FROM synthetic_people`,
    `CREATE TEMP TABLE synthetic_positions ON COMMIT DROP AS
      SELECT p.uuid, lpad(nextval('careid_identifiers')::text, 12, '0') AS person_orgid,
             lpad(nextval('careid_identifiers')::text, 12, '0') AS role_profile_id,
             'ZS' || lpad((1 + (p.i + j * 7919) % ${organisationCount})::text, 4, '0') AS ods_code,
             (${textArray(jobRoles)})[1 + (p.i * 31 + j) % ${jobRoles.length}] AS job_role_code,
             date '2015-01-01' + (p.i * 11 + j * 101) % 3650 AS start_date
      FROM synthetic_people p CROSS JOIN generate_series(0, ${whole}) AS j
      WHERE j < ${whole} OR (p.i * 2654435761) % 1000 < ${fractionPerMille}`,
    `INSERT INTO person_organisations (person_orgid, uuid, ods_code)
      SELECT person_orgid, uuid, ods_code FROM synthetic_positions`,
    `INSERT INTO positions (role_profile_id, person_orgid, uuid, ods_code, job_role_code, start_date, status)
      SELECT role_profile_id, person_orgid, uuid, ods_code, job_role_code, start_date, 'active' FROM synthetic_positions`,
  ];
  return store.db.transaction().execute(async (tx) => {
    for (const statement of statements) await sql.raw(statement).execute(tx);
    const summary = await sql<{ first_uuid: string; last_uuid: string; positions: number }>`
      SELECT (SELECT min(uuid) FROM synthetic_people) AS first_uuid, (SELECT max(uuid) FROM synthetic_people) AS last_uuid,
             (SELECT count(*) FROM synthetic_positions)::int AS positions`.execute(tx);
    const row = summary.rows[0];
    if (!row) throw new Error("the synthetic batch produced no summary");
    await recordEvent(tx, actor, {
      action: "seed.synthetic.people",
      subject: { type: "person", id: `${row.first_uuid}..${row.last_uuid}` },
      after: { people: to - from + 1, positions: row.positions, numbers: `${from}..${to}` },
    });
    return row.positions;
  });
}
