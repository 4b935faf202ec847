-- Foundation: 12-digit identifiers, national RBAC code lists, organisations, Care Identity
-- profiles, positions and the hash-chained audit log.

-- One sequence for every 12-digit identifier (person UUIDs, role profile ids, org-person ids,
-- workgroup ids) so no identifier is ever issued twice, whatever kind it names.
CREATE SEQUENCE careid_identifiers START WITH 555000000001 MINVALUE 100000000000 MAXVALUE 999999999999 NO CYCLE;

CREATE TABLE staff_groups (
  code text PRIMARY KEY CHECK (code ~ '^S[0-9]{4}$'),
  name text NOT NULL,
  demo boolean NOT NULL DEFAULT false
);

CREATE TABLE sub_groups (
  code text PRIMARY KEY CHECK (code ~ '^G[0-9]{4}$'),
  staff_group_code text NOT NULL REFERENCES staff_groups (code),
  name text NOT NULL,
  demo boolean NOT NULL DEFAULT false
);

CREATE TABLE job_roles (
  code text PRIMARY KEY CHECK (code ~ '^R[0-9]{4}$'),
  name text NOT NULL,
  staff_group_code text NOT NULL REFERENCES staff_groups (code),
  sub_group_code text NOT NULL REFERENCES sub_groups (code)
);

CREATE TABLE activities (
  code text PRIMARY KEY CHECK (code ~ '^B[0-9]{4}$'),
  name text NOT NULL,
  demo boolean NOT NULL DEFAULT false
);

CREATE TABLE activity_inclusions (
  activity_code text NOT NULL REFERENCES activities (code),
  included_code text NOT NULL REFERENCES activities (code),
  PRIMARY KEY (activity_code, included_code),
  CHECK (activity_code <> included_code)
);

CREATE TABLE baseline_activities (
  job_role_code text NOT NULL REFERENCES job_roles (code),
  activity_code text NOT NULL REFERENCES activities (code),
  PRIMARY KEY (job_role_code, activity_code)
);

CREATE TABLE areas_of_work (
  code text PRIMARY KEY CHECK (code ~ '^[A-Z][0-9]{4}:[A-Z][0-9]{4}:[A-Z][0-9]{4}$'),
  names text[] NOT NULL CHECK (cardinality(names) = 3),
  demo boolean NOT NULL DEFAULT false
);

CREATE TABLE organisations (
  ods_code text PRIMARY KEY CHECK (ods_code ~ '^[A-Z0-9]{3,10}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  type_code text NOT NULL CHECK (type_code ~ '^RO[0-9]{1,4}$'),
  type_name text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'inactive')),
  parent_ods_code text REFERENCES organisations (ods_code),
  address_lines text[] NOT NULL DEFAULT '{}',
  city text,
  postcode text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX organisations_parent ON organisations (parent_ods_code);

CREATE TABLE workgroups (
  id char(12) PRIMARY KEY,
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  name text NOT NULL,
  UNIQUE (ods_code, name)
);

CREATE TABLE people (
  uuid char(12) PRIMARY KEY CHECK (uuid ~ '^[0-9]{12}$'),
  title text,
  given_name text NOT NULL,
  middle_names text,
  family_name text NOT NULL,
  date_of_birth date,
  ni_number text UNIQUE CHECK (ni_number ~ '^[A-Z]{2}[0-9]{6}[A-D]$'),
  email text,
  mobile text,
  identity_assurance_level smallint NOT NULL CHECK (identity_assurance_level BETWEEN 0 AND 3),
  identity_evidence jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_family_name ON people (lower(family_name), lower(given_name));
CREATE INDEX people_email ON people (lower(email));

CREATE TABLE professional_registrations (
  uuid char(12) NOT NULL REFERENCES people (uuid),
  body text NOT NULL,
  number text NOT NULL,
  PRIMARY KEY (uuid, body),
  UNIQUE (body, number)
);

-- A person's membership of an organisation: the directory's nhsOrgPerson, whose id the
-- national RBAC claim calls person_orgid.
CREATE TABLE person_organisations (
  person_orgid char(12) PRIMARY KEY,
  uuid char(12) NOT NULL REFERENCES people (uuid),
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (uuid, ods_code)
);

-- A position (the directory's role profile, nhsOrgPersonRole). Only activities an RA added
-- are stored: the baseline of the job role is applied when the position is read, so a change
-- to the national baseline reaches every position at once.
CREATE TABLE positions (
  role_profile_id char(12) PRIMARY KEY,
  person_orgid char(12) NOT NULL REFERENCES person_organisations (person_orgid),
  uuid char(12) NOT NULL REFERENCES people (uuid),
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  job_role_code text NOT NULL REFERENCES job_roles (code),
  added_activity_codes text[] NOT NULL DEFAULT '{}',
  workgroup_ids text[] NOT NULL DEFAULT '{}',
  area_of_work_codes text[] NOT NULL DEFAULT '{}',
  start_date date NOT NULL,
  end_date date,
  status text NOT NULL CHECK (status IN ('active', 'ended')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (end_date IS NULL OR end_date >= start_date)
);
CREATE INDEX positions_person ON positions (uuid);
CREATE INDEX positions_organisation ON positions (ods_code, status);

-- Append-only audit log. Each event carries the hash of the one before it, so an edited,
-- deleted or reordered row breaks the chain; audit_head records the newest link so a
-- truncated tail is found too.
CREATE TABLE audit_events (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor_kind text NOT NULL,
  actor_id text,
  actor_role_id text,
  action text NOT NULL,
  subject_type text,
  subject_id text,
  before jsonb,
  after jsonb,
  reason text,
  source text NOT NULL,
  correlation_id text,
  previous_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_events_subject ON audit_events (subject_type, subject_id);
CREATE INDEX audit_events_actor ON audit_events (actor_id);

CREATE TABLE audit_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  seq bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO audit_head (seq, hash) VALUES (0, repeat('0', 64));

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP;
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();

-- Which version of each file of national reference data is loaded, by content digest.
CREATE TABLE reference_data_versions (
  name text PRIMARY KEY,
  digest text NOT NULL,
  loaded_at timestamptz NOT NULL DEFAULT now()
);
