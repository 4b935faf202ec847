-- CIS1 legacy single sign-on: the SSO token a workstation's agent gets after a smartcard
-- sign-in, and the key that signs SAML 1.1 role assertions.

-- A CIS1 session, bound to one card, its holder and the position they act in. Only the
-- SHA-256 digest of the token is kept. role_required: the holder has several positions and has
-- not chosen one yet, so the token names no role and is not valid yet. The idle limit is
-- configuration, applied to last_used_at; expires_at is the absolute limit, fixed at sign-in.
-- Removing the card (the agent's removal report) deletes the card's rows.
CREATE TABLE cis1_sessions (
  token_digest text PRIMARY KEY,
  holder char(12) NOT NULL REFERENCES people (uuid),
  card_serial text NOT NULL REFERENCES smartcards (serial),
  role_profile_id text,
  role_required boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX cis1_sessions_card ON cis1_sessions (card_serial);
CREATE INDEX cis1_sessions_expiry ON cis1_sessions (expires_at);

-- The issuing CA certifies an RSA key that signs role assertions (when configured to). One
-- row, made by the first node that needs it; the private key is PKCS#8 sealed under the master
-- key, its certificate is recorded in pki_certificates like every certificate the CA issues.
ALTER TABLE pki_certificates DROP CONSTRAINT pki_certificates_profile_check;
ALTER TABLE pki_certificates ADD CONSTRAINT pki_certificates_profile_check
  CHECK (profile IN ('card-authentication', 'card-signing', 'ocsp-responder', 'assertion-signing'));

CREATE TABLE cis1_signing_keys (
  name text PRIMARY KEY CHECK (name = 'role-assertion'),
  certificate_serial text NOT NULL REFERENCES pki_certificates (serial),
  sealed_private_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
