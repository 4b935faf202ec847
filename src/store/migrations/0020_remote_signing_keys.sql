-- Remote signing (Digital Signature Service): a signing key per person without a card, made by
-- the service on first use, its private half sealed under the master key (AES-256-GCM), and its
-- certificate from our issuing CA under the new profile remote-signing. A closed profile's key is
-- marked revoked here and its certificate revoked in pki_revocations, in the closing transaction.
ALTER TABLE pki_certificates DROP CONSTRAINT pki_certificates_profile_check;
ALTER TABLE pki_certificates ADD CONSTRAINT pki_certificates_profile_check
  CHECK (profile IN ('card-authentication', 'card-signing', 'ocsp-responder', 'assertion-signing', 'remote-signing'));

CREATE TABLE remote_signing_keys (
  id bigserial PRIMARY KEY,
  holder char(12) NOT NULL REFERENCES people (uuid),
  certificate_serial text NOT NULL REFERENCES pki_certificates (serial),
  sealed_private_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
-- At most one key in use per person: two nodes issuing at once cannot both win.
CREATE UNIQUE INDEX remote_signing_keys_current ON remote_signing_keys (holder) WHERE revoked_at IS NULL;
