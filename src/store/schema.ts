import type { ColumnType, Generated } from "kysely";

/** The tables as Kysely sees them; the SQL in migrations/ is the source of truth. */
export type Database = {
  staff_groups: { code: string; name: string; demo: boolean };
  sub_groups: { code: string; staff_group_code: string; name: string; demo: boolean };
  job_roles: { code: string; name: string; staff_group_code: string; sub_group_code: string };
  activities: { code: string; name: string; demo: boolean };
  activity_inclusions: { activity_code: string; included_code: string };
  baseline_activities: { job_role_code: string; activity_code: string };
  areas_of_work: { code: string; names: string[]; demo: boolean };
  organisations: OrganisationsTable;
  workgroups: { id: string; ods_code: string; name: string };
  people: PeopleTable;
  professional_registrations: { uuid: string; body: string; number: string };
  person_organisations: {
    person_orgid: string;
    uuid: string;
    ods_code: string;
    created_at: Generated<Date>;
  };
  positions: PositionsTable;
  audit_events: AuditEventsTable;
  audit_head: { singleton: Generated<boolean>; seq: number; hash: string };
  reference_data_versions: { name: string; digest: string; loaded_at: Generated<Date> };
  schema_migrations: { name: string; applied_at: Generated<Date> };
};

/** Dates without time are exchanged as ISO strings (YYYY-MM-DD) on both drivers. */
type IsoDate = string;

export type OrganisationsTable = {
  ods_code: string;
  name: string;
  type_code: string;
  type_name: string;
  status: "active" | "inactive";
  parent_ods_code: string | null;
  address_lines: string[];
  city: string | null;
  postcode: string | null;
  created_at: Generated<Date>;
};

export type PeopleTable = {
  uuid: string;
  title: string | null;
  given_name: string;
  middle_names: string | null;
  family_name: string;
  date_of_birth: IsoDate | null;
  ni_number: string | null;
  email: string | null;
  mobile: string | null;
  identity_assurance_level: number;
  identity_evidence: ColumnType<Record<string, unknown>, string, string>;
  status: "active" | "suspended" | "closed";
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};

export type PositionsTable = {
  role_profile_id: string;
  person_orgid: string;
  uuid: string;
  ods_code: string;
  job_role_code: string;
  added_activity_codes: string[];
  workgroup_ids: string[];
  area_of_work_codes: string[];
  start_date: IsoDate;
  end_date: IsoDate | null;
  status: "active" | "ended";
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
};

export type AuditEventsTable = {
  seq: number;
  at: Date;
  actor_kind: string;
  actor_id: string | null;
  actor_role_id: string | null;
  action: string;
  subject_type: string | null;
  subject_id: string | null;
  before: ColumnType<unknown, string | null, never>;
  after: ColumnType<unknown, string | null, never>;
  reason: string | null;
  source: string;
  correlation_id: string | null;
  previous_hash: string;
  hash: string;
};
