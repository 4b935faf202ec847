-- Authenticator kinds: what a WebAuthn credential is (security key, Windows Hello, iPad,
-- device-bound or synced passkey), how far its attestation was trusted, and a name its holder
-- may give it on the "your authenticators" page.
ALTER TABLE webauthn_credentials
  ADD COLUMN kind text,
  ADD COLUMN attestation text NOT NULL DEFAULT 'none',
  ADD COLUMN attestation_format text NOT NULL DEFAULT 'none',
  ADD COLUMN name text;

-- Credentials registered before kinds existed asked for no attestation.
UPDATE webauthn_credentials
SET kind = CASE WHEN device_type = 'multiDevice' THEN 'synced-passkey' ELSE 'security-key' END,
    name = CASE WHEN device_type = 'multiDevice' THEN 'Passkey' ELSE 'Security key' END;

ALTER TABLE webauthn_credentials
  ALTER COLUMN kind SET NOT NULL,
  ALTER COLUMN name SET NOT NULL,
  ADD CONSTRAINT webauthn_credentials_attestation
    CHECK (attestation IN ('trusted', 'untrusted', 'self', 'none'));

-- Sessions of the "your authenticators" page, a relying party of CIS2 like any other. The cookie
-- holds a random token; only its digest is kept. method is the amr the person signed in with:
-- they may add authenticators up to its AAL. pending_challenge is a WebAuthn registration in
-- progress, used once.
CREATE TABLE account_sessions (
  token_digest text PRIMARY KEY,
  uuid char(12) NOT NULL REFERENCES people (uuid),
  method text NOT NULL,
  expires_at timestamptz NOT NULL,
  pending_challenge text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX account_sessions_expiry ON account_sessions (expires_at);
