-- One session table for every first-party app (Care Identity Management, "your authenticators"),
-- each a relying party of our own CIS2. The browser holds a random token; only its SHA-256 digest
-- is kept. method is the amr the person signed in with; the CIS2 ID token (for RP-initiated
-- logout) and the secret that signs the session's form tokens are sealed under the master key.
-- pending_challenge is a WebAuthn registration in progress, used once. Each app's idle and
-- longest limits are in code. Sessions of the two old tables end: their users sign in again.
CREATE TABLE first_party_sessions (
  token_digest text PRIMARY KEY,
  app text NOT NULL,
  uuid char(12) NOT NULL REFERENCES people (uuid),
  method text,
  cis2_sid text,
  sealed_id_token text NOT NULL,
  sealed_form_secret text NOT NULL,
  pending_challenge text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX first_party_sessions_app_age ON first_party_sessions (app, created_at);

DROP TABLE cim_sessions;
DROP TABLE account_sessions;
