-- Requests to the remote signing service. The token is a bearer capability, so only its SHA-256
-- is kept. request_hash (SHA-256 of the client's JWT) is unique: a replayed request is refused.
-- challenge is the WebAuthn challenge of the presence check in progress. status runs
-- pending -> signed -> collected; signatures are kept until they are collected.
CREATE TABLE signature_requests (
  token_hash text PRIMARY KEY,
  request_hash text NOT NULL UNIQUE,
  client_id text NOT NULL,
  holder char(12) NOT NULL REFERENCES people (uuid),
  items jsonb NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'signed', 'collected')),
  challenge text,
  signatures jsonb,
  certificate_serial text REFERENCES pki_certificates (serial),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  signed_at timestamptz,
  collected_at timestamptz
);
CREATE INDEX signature_requests_expiry ON signature_requests (expires_at);
