-- Self-service smartcard unlocks (src/authenticators/smartcard/self-unlock.ts). One row per
-- attempt: the holder's browser holds a random attempt token, of which only a digest is kept;
-- the six-digit code is kept as an HMAC keyed by that token, so the table alone cannot be
-- searched for it. Once the code is right, a release ticket (digest kept) lets the agent fetch
-- the card's escrowed unlock code; the attempt completes when the agent reports the passcode set.
CREATE TABLE smartcard_self_unlocks (
  token_digest text PRIMARY KEY,
  card_serial text NOT NULL REFERENCES smartcards (serial),
  holder text NOT NULL,
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  message_id text NOT NULL REFERENCES message_outbox (id),
  code_digest text NOT NULL,
  expires_at timestamptz NOT NULL,
  wrong_tries integer NOT NULL DEFAULT 0,
  verified_at timestamptz,
  ticket_digest text UNIQUE,
  ticket_expires_at timestamptz,
  releases integer NOT NULL DEFAULT 0,
  completed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX smartcard_self_unlocks_card ON smartcard_self_unlocks (card_serial, created_at);
