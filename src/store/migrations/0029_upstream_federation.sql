-- NHS.net Connect (src/authenticators/federation/): upstream OpenID Connect providers configured
-- as data, and the upstream accounts linked to Care Identities. A provider's client secret or
-- private_key_jwt key is sealed under the master key. A link names the upstream account by the
-- provider's identifying claim (e.g. Entra ID's `oid`); one upstream account links to one Care
-- Identity, and a person holds at most one link per provider. A disabled link stays recorded
-- (so the same upstream account cannot be linked again without an RA) but signs no one in.
CREATE TABLE upstream_providers (
  id text PRIMARY KEY,
  display_name text NOT NULL,
  issuer text NOT NULL UNIQUE,
  client_id text NOT NULL,
  auth_method text NOT NULL CHECK (auth_method IN ('client_secret_post', 'client_secret_basic', 'private_key_jwt')),
  sealed_credential text NOT NULL,
  scopes text NOT NULL,
  identifying_claim text NOT NULL,
  tenant_id text,
  allowed_domains jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE upstream_links (
  provider_id text NOT NULL REFERENCES upstream_providers (id) ON DELETE CASCADE,
  subject text NOT NULL,
  uuid text NOT NULL,
  email text,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  -- The upstream `sub` and the `sid` of the last sign-in: what a back-channel logout names.
  upstream_sub text,
  last_sid text,
  PRIMARY KEY (provider_id, subject),
  UNIQUE (provider_id, uuid)
);
CREATE INDEX upstream_links_person ON upstream_links (uuid);
