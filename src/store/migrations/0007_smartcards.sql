-- Smartcards: the certificate authority (its keys, the certificates it issued, revocations) and
-- the cards themselves (holder, status, escrowed unlock code), the RA orders that authorise the
-- workstation agent, and the one-use challenges a card signs to sign in.

-- The root and issuing CA. The private key is PKCS#8, sealed under the master key. Both rows are
-- written in one transaction on first start, so concurrent first starts agree on one pair.
CREATE TABLE pki_authorities (
  name text PRIMARY KEY CHECK (name IN ('root', 'issuing')),
  certificate bytea NOT NULL,
  sealed_private_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Serial numbers come from this sequence; the CRL number from the other, so both only rise
-- whichever node issues.
CREATE SEQUENCE pki_certificate_serial START 4096;
CREATE SEQUENCE pki_crl_number;

-- Every certificate the issuing CA signed. serial is lower-case hex without leading zeros.
CREATE TABLE pki_certificates (
  serial text PRIMARY KEY,
  profile text NOT NULL CHECK (profile IN ('card-authentication', 'card-signing', 'ocsp-responder')),
  holder char(12) REFERENCES people (uuid),
  card_serial text,
  certificate bytea NOT NULL,
  not_before timestamptz NOT NULL,
  not_after timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pki_certificates_card ON pki_certificates (card_serial);

-- Revocation is final (no certificateHold), so a row here is never removed. reason is the
-- RFC 5280 CRLReason name.
CREATE TABLE pki_revocations (
  serial text PRIMARY KEY REFERENCES pki_certificates (serial),
  revoked_at timestamptz NOT NULL,
  reason text NOT NULL CHECK (reason IN ('unspecified', 'keyCompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation'))
);

-- A card. serial is the token's serial number. sealed_unlock_code is the card's PKCS#11 SO PIN,
-- generated here and sealed under the master key; it leaves the service only to the agent.
CREATE TABLE smartcards (
  serial text PRIMARY KEY,
  holder char(12) NOT NULL REFERENCES people (uuid),
  card_type text,
  status text NOT NULL CHECK (status IN ('active', 'locked', 'cancelled', 'lost', 'stolen', 'expired')),
  sealed_unlock_code text NOT NULL,
  issued_at timestamptz NOT NULL DEFAULT now(),
  status_changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX smartcards_holder ON smartcards (holder);

-- An RA's authority for the agent to do one thing once: issue a card to a person, renew a card,
-- or release a card's unlock code. Only the SHA-256 digest of the order code is kept.
CREATE TABLE smartcard_orders (
  code_digest text PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('issue', 'renew', 'unlock')),
  holder char(12) NOT NULL REFERENCES people (uuid),
  card_serial text REFERENCES smartcards (serial),
  authorised_by text NOT NULL,
  authorised_role text,
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX smartcard_orders_holder ON smartcard_orders (holder);

-- Challenges a card signs; consumed at first presentation, so a signature cannot be replayed.
CREATE TABLE smartcard_challenges (
  challenge text PRIMARY KEY,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
