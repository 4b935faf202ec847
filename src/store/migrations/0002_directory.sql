-- Directory: accredited systems and messaging endpoints (the SDS ou=Services tree) and the
-- applications allowed to call the directory's FHIR APIs.

-- An accredited system (SDS nhsAs): an ASID at an owning organisation, the product it runs and
-- the interactions it is accredited for.
CREATE TABLE accredited_systems (
  asid char(12) PRIMARY KEY CHECK (asid ~ '^[0-9]{12}$'),
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  manufacturer_ods_code text NOT NULL CHECK (manufacturer_ods_code ~ '^[A-Z0-9]{3,10}$'),
  product_key text NOT NULL,
  product_name text NOT NULL,
  product_version text,
  party_key text NOT NULL CHECK (party_key ~ '^[A-Z0-9]{3,10}-[0-9]{6,7}$'),
  interactions text[] NOT NULL CHECK (cardinality(interactions) > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accredited_systems_organisation ON accredited_systems (ods_code);
CREATE INDEX accredited_systems_party_key ON accredited_systems (party_key);
CREATE INDEX accredited_systems_interactions ON accredited_systems USING gin (interactions);

-- A messaging endpoint (SDS nhsMhs): one per party key and interaction, each with its own CPA id.
CREATE TABLE messaging_endpoints (
  id char(12) PRIMARY KEY CHECK (id ~ '^[0-9]{12}$'),
  ods_code text NOT NULL REFERENCES organisations (ods_code),
  party_key text NOT NULL CHECK (party_key ~ '^[A-Z0-9]{3,10}-[0-9]{6,7}$'),
  interaction text NOT NULL,
  cpa_id text NOT NULL UNIQUE,
  fqdn text NOT NULL,
  endpoint_url text NOT NULL,
  sync_reply_mode text NOT NULL CHECK (sync_reply_mode IN ('MSHSignalsOnly', 'SignalsOnly', 'None')),
  retry_interval text NOT NULL,
  retries smallint NOT NULL CHECK (retries BETWEEN 0 AND 100),
  persist_duration text NOT NULL,
  duplicate_elimination text NOT NULL CHECK (duplicate_elimination IN ('always', 'never')),
  ack_requested text NOT NULL CHECK (ack_requested IN ('always', 'never')),
  actor text NOT NULL,
  is_authenticated boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (party_key, interaction)
);
CREATE INDEX messaging_endpoints_organisation ON messaging_endpoints (ods_code);

-- Applications that may call the directory APIs. Keys are random and high-entropy, so a
-- SHA-256 digest is enough to store them; the key itself is shown once, when issued.
CREATE TABLE api_applications (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  key_digest char(64) NOT NULL UNIQUE,
  key_prefix text NOT NULL,
  admin boolean NOT NULL DEFAULT false,
  rate_limit_per_minute integer NOT NULL CHECK (rate_limit_per_minute > 0),
  status text NOT NULL CHECK (status IN ('active', 'revoked')),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
