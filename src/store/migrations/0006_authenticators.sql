-- Authenticators: one-time enrolment links, the authenticator app (TOTP) and WebAuthn
-- credentials (security keys and passkeys).

-- An enrolment link is handed to one person; only the SHA-256 digest of its token is kept, so
-- a copy of this table cannot enrol anyone. It is consumed by the first authenticator enrolled
-- through it. While it is open it holds the ceremony in progress: the authenticator app secret
-- shown on the page (sealed) and the WebAuthn registration challenge.
CREATE TABLE enrolment_links (
  token_digest text PRIMARY KEY,
  uuid char(12) NOT NULL REFERENCES people (uuid),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  pending_totp_secret text,
  pending_challenge text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrolment_links_person ON enrolment_links (uuid);

-- One authenticator app per person (enrolling another replaces it). The secret is sealed under
-- the master key. last_used_step is the RFC 6238 time step of the last accepted code, so no
-- code is accepted twice; failed_attempts and locked_until throttle guessing.
CREATE TABLE totp_authenticators (
  uuid char(12) PRIMARY KEY REFERENCES people (uuid),
  sealed_secret text NOT NULL,
  last_used_step bigint NOT NULL,
  failed_attempts int NOT NULL DEFAULT 0,
  locked_until timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);

-- WebAuthn credentials. The method (an amr value of cis2/assurance.ts) is fixed at
-- registration from what the authenticator reported; counter is the signature counter, which
-- must rise with every use of a credential that keeps one.
CREATE TABLE webauthn_credentials (
  credential_id text PRIMARY KEY,
  uuid char(12) NOT NULL REFERENCES people (uuid),
  method text NOT NULL,
  public_key text NOT NULL,
  counter bigint NOT NULL,
  transports text[] NOT NULL DEFAULT '{}',
  aaguid text NOT NULL,
  device_type text NOT NULL,
  backed_up boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz
);
CREATE INDEX webauthn_credentials_person ON webauthn_credentials (uuid);
