-- Care Identity Management: the Registration Authority's records. Position definitions per
-- organisation, the positions a sponsor may assign directly, requests awaiting an approver,
-- submitted forms (so a form sent twice acts once), and what a profile needs for RA authority
-- and closure.

-- The organisation whose RA created a profile: until the person holds a position, its RA staff
-- are the ones with authority over the profile.
ALTER TABLE people ADD COLUMN registering_ods_code text REFERENCES organisations (ods_code);
ALTER TABLE people ADD COLUMN closed_at timestamptz;

-- Find a profile by surname prefix: in the C collation a LIKE 'smi%' is a range scan of this
-- index and its order is the answer's order, so a page of 50 reads 50 rows.
CREATE INDEX people_family_name_prefix ON people ((lower(family_name) COLLATE "C"), (lower(given_name) COLLATE "C"), uuid);
CREATE INDEX people_registering_organisation ON people (registering_ods_code);

-- A position as an RA defines it once per organisation: a name and one or more access
-- profiles (job role, extra activities, workgroups, areas of work). Assigning it to a person
-- creates one positions row (role profile) per access profile, sharing an assignment id.
CREATE TABLE position_definitions (
  id char(12) PRIMARY KEY CHECK (id ~ '^[0-9]{12}$'),
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  access_profiles jsonb NOT NULL CHECK (jsonb_typeof(access_profiles) = 'array' AND jsonb_array_length(access_profiles) > 0),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX position_definitions_name ON position_definitions (ods_code, lower(name));

ALTER TABLE positions ADD COLUMN position_definition_id char(12) REFERENCES position_definitions (id);
ALTER TABLE positions ADD COLUMN assignment_id char(12);
CREATE INDEX positions_assignment ON positions (assignment_id);

-- Positions a sponsor may assign without a request, chosen by an RA manager or advanced agent.
CREATE TABLE sponsor_assignable_positions (
  position_definition_id char(12) NOT NULL REFERENCES position_definitions (id),
  sponsor_uuid char(12) NOT NULL REFERENCES people (uuid),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (position_definition_id, sponsor_uuid)
);
CREATE INDEX sponsor_assignable_positions_sponsor ON sponsor_assignable_positions (sponsor_uuid);

-- A request for an RA decision: what a sponsor may not do directly, or what arrives from Apply
-- for Care ID or ESR. It belongs to an organisation, whose approvers (and those of its parents)
-- see it. An approver who opens it holds it for 15 minutes.
CREATE TABLE registration_requests (
  id char(12) PRIMARY KEY CHECK (id ~ '^[0-9]{12}$'),
  action text NOT NULL,
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  subject_uuid char(12) NOT NULL REFERENCES people (uuid),
  position_definition_id char(12) REFERENCES position_definitions (id),
  details jsonb NOT NULL DEFAULT '{}',
  source text NOT NULL CHECK (source IN ('CIM', 'APPLY', 'ESR')),
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'completed', 'rejected')),
  requested_by char(12) REFERENCES people (uuid),
  requested_role_id char(12),
  reason text,
  notes text,
  locked_by char(12) REFERENCES people (uuid),
  locked_until timestamptz,
  decided_by char(12) REFERENCES people (uuid),
  decided_role_id char(12),
  decision_reason text,
  decided_at timestamptz,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'open') = (decided_at IS NULL))
);
-- Covering, so the dashboard's count and the choice of its page read the index alone.
CREATE INDEX registration_requests_open ON registration_requests (ods_code, created_at, id)
  INCLUDE (requested_by, subject_uuid, position_definition_id) WHERE status = 'open';
CREATE INDEX registration_requests_closed ON registration_requests (ods_code, decided_at DESC, id) WHERE status <> 'open';
CREATE INDEX registration_requests_subject ON registration_requests (subject_uuid);
CREATE INDEX registration_requests_requester ON registration_requests (requested_by);

-- Each form or API call may carry a submission id; the second use of one is refused, so a
-- double-clicked button or a retried call changes nothing twice.
CREATE TABLE registration_submissions (
  submission_id text PRIMARY KEY CHECK (length(submission_id) BETWEEN 8 AND 100),
  actor_uuid char(12) NOT NULL,
  action text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
