-- The authenticator app's password for real users (src/authenticators/password/): an RA may
-- force a reset (the password then signs no one in until its holder resets it), and a holder
-- resets a forgotten password with a one-time code emailed to them plus a current app code.
-- One open reset per person; the code is kept as an HMAC keyed by the holder's reset token,
-- so the table alone cannot be searched for it.
ALTER TABLE passwords ADD COLUMN reset_required boolean NOT NULL DEFAULT false;

CREATE TABLE password_resets (
  token_digest text PRIMARY KEY,
  uuid text NOT NULL,
  message_id text NOT NULL REFERENCES message_outbox (id),
  code_digest text NOT NULL,
  expires_at timestamptz NOT NULL,
  wrong_tries integer NOT NULL DEFAULT 0,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX password_resets_person ON password_resets (uuid, created_at);
