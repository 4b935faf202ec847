-- Smartcard sign-in: cards present in a workstation's reader, and the one-use tickets that
-- carry a mutual-TLS sign-in back to the browser's CIS2 journey.

-- A card whose holder entered the passcode, reported by the agent with the card's own
-- signature. removal_digest is the SHA-256 of a secret only that agent holds; it presents the
-- secret when the card leaves the reader, which ends the holder's smartcard sessions.
CREATE TABLE smartcard_presence (
  removal_digest text PRIMARY KEY,
  card_serial text NOT NULL,
  holder char(12) NOT NULL REFERENCES people (uuid),
  reported_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX smartcard_presence_card ON smartcard_presence (card_serial);

-- A card certificate accepted on the mutual-TLS listener, for one interaction, redeemed once
-- by the browser that holds that interaction. Only the ticket's SHA-256 digest is kept.
CREATE TABLE smartcard_tls_tickets (
  ticket_digest text PRIMARY KEY,
  interaction_uid text NOT NULL,
  holder char(12) NOT NULL REFERENCES people (uuid),
  card_serial text NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);
