-- Care Identity Management's own sessions, made after a CIS2 sign-in. The browser holds a random
-- token; only its SHA-256 digest is kept. The CIS2 ID token (for RP-initiated logout) and the
-- secret that signs the session's form tokens are sealed under the master key. A session ends
-- when the user signs out, after an idle time, or after twelve hours.
CREATE TABLE cim_sessions (
  token_digest text PRIMARY KEY,
  uuid char(12) NOT NULL REFERENCES people (uuid),
  cis2_sid text,
  sealed_id_token text NOT NULL,
  sealed_form_secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cim_sessions_person ON cim_sessions (uuid);
