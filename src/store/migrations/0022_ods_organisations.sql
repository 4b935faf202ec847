-- Organisations as the Organisation Data Service publishes them (src/rbac/ods/): their open and
-- close dates, when ODS last changed them, where the record came from (an ODS extract, or a local
-- organisation a national administrator added before ODS knew it), and a digest of the imported
-- record, so a re-import finds what changed without comparing every field.
ALTER TABLE organisations
  ADD COLUMN open_date date,
  ADD COLUMN close_date date,
  ADD COLUMN telephone text,
  ADD COLUMN last_change_date date,
  ADD COLUMN source text NOT NULL DEFAULT 'local' CHECK (source IN ('ods', 'local')),
  ADD COLUMN record_digest text,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX organisations_updated ON organisations (updated_at);
CREATE INDEX organisations_last_change ON organisations (last_change_date);

-- An organisation's ODS roles (RO codes): one is primary (organisations.type_code repeats it
-- for the many readers that need only that); a GP practice is also a prescribing cost centre.
CREATE TABLE organisation_roles (
  ods_code text NOT NULL REFERENCES organisations (ods_code) ON DELETE CASCADE,
  role_code text NOT NULL CHECK (role_code ~ '^RO[0-9]{1,4}$'),
  is_primary boolean NOT NULL,
  start_date date,
  end_date date,
  active boolean NOT NULL,
  PRIMARY KEY (ods_code, role_code)
);
CREATE INDEX organisation_roles_role ON organisation_roles (role_code, active);

-- A relationship between two organisations (RE codes: RE4 is commissioned by, RE6 is operated
-- by): FHIR's OrganizationAffiliation. The target need not be loaded yet (ODS files arrive in
-- any order), so it is not a foreign key; the hierarchy (organisations.parent_ods_code) follows
-- the active hierarchy relationships whose target is known.
CREATE TABLE organisation_relationships (
  ods_code text NOT NULL REFERENCES organisations (ods_code) ON DELETE CASCADE,
  relationship_code text NOT NULL CHECK (relationship_code ~ '^RE[0-9]{1,4}$'),
  target_ods_code text NOT NULL CHECK (target_ods_code ~ '^[A-Z0-9]{3,10}$'),
  target_role_code text,
  start_date date,
  end_date date,
  active boolean NOT NULL,
  PRIMARY KEY (ods_code, relationship_code, target_ods_code)
);
CREATE INDEX organisation_relationships_target ON organisation_relationships (target_ods_code);

-- Successors and predecessors: where an organisation's work went when it closed or merged.
CREATE TABLE organisation_successors (
  ods_code text NOT NULL REFERENCES organisations (ods_code) ON DELETE CASCADE,
  kind text NOT NULL CHECK (kind IN ('Successor', 'Predecessor')),
  target_ods_code text NOT NULL CHECK (target_ods_code ~ '^[A-Z0-9]{3,10}$'),
  start_date date,
  PRIMARY KEY (ods_code, kind, target_ods_code)
);

-- Organisations recorded before this migration carry their one role as their primary role.
INSERT INTO organisation_roles (ods_code, role_code, is_primary, active)
SELECT ods_code, type_code, true, status = 'active' FROM organisations;
