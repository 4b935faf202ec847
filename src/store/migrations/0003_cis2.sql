-- CIS2 Authentication: the OpenID Connect provider's storage, clients, signing keys, role
-- selections and the development realm's passwords.

-- Every oidc-provider model (sessions, grants, codes, tokens, interactions, replay detection)
-- in one table keyed by kind and id, as its adapter interface expects.
CREATE TABLE oidc_models (
  kind text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  PRIMARY KEY (kind, id)
);
CREATE INDEX oidc_models_grant ON oidc_models (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oidc_models_uid ON oidc_models (uid) WHERE uid IS NOT NULL;
CREATE INDEX oidc_models_expiry ON oidc_models (expires_at);

-- Registered relying parties: RFC 7591 metadata, the secret sealed apart from it.
CREATE TABLE oidc_clients (
  client_id text PRIMARY KEY,
  metadata jsonb NOT NULL,
  sealed_secret text,
  default_acr text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Token signing keys. A new key is published in the JWKS from created_at and signs from
-- signs_from, so relying parties have fetched it before they meet it; a retired key stays
-- published until published_until so tokens it signed still verify.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  public_jwk jsonb NOT NULL,
  sealed_private_jwk text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  signs_from timestamptz NOT NULL,
  retired_at timestamptz,
  published_until timestamptz
);

-- The position a user chose in a CIS2 session; asked once per session.
CREATE TABLE cis2_role_selections (
  session_uid text PRIMARY KEY,
  uuid char(12) NOT NULL REFERENCES people (uuid),
  role_profile_id char(12) NOT NULL REFERENCES positions (role_profile_id),
  selected_at timestamptz NOT NULL DEFAULT now()
);

-- Development realm only (AAL1_USERPASS): Argon2id hashes.
CREATE TABLE passwords (
  uuid char(12) PRIMARY KEY REFERENCES people (uuid),
  hash text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Back-channel logout tokens waiting for delivery, retried with back-off.
CREATE TABLE backchannel_deliveries (
  id bigserial PRIMARY KEY,
  client_id text NOT NULL,
  uuid char(12) NOT NULL,
  sid text NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX backchannel_deliveries_due ON backchannel_deliveries (next_attempt_at) WHERE delivered_at IS NULL;
