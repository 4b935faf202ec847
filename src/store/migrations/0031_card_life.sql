-- The rest of a card's life (src/authenticators/smartcard/repair.ts, clear.ts, lock-report.ts):
-- repair orders (new keys and certificates on the same card, also after expiry) and clear orders
-- (the card wiped for someone else); a cleared card's record is ended with status 'cleared'.
ALTER TABLE smartcard_orders DROP CONSTRAINT smartcard_orders_kind_check;
ALTER TABLE smartcard_orders ADD CONSTRAINT smartcard_orders_kind_check
  CHECK (kind IN ('issue', 'renew', 'unlock', 'repair', 'clear'));
-- How often a repair or clear order released the card's unlock code to the agent before it was
-- spent: a card pulled out mid-way can be tried again, a few times.
ALTER TABLE smartcard_orders ADD COLUMN releases integer NOT NULL DEFAULT 0;

ALTER TABLE smartcards DROP CONSTRAINT smartcards_status_check;
ALTER TABLE smartcards ADD CONSTRAINT smartcards_status_check
  CHECK (status IN ('active', 'locked', 'cancelled', 'lost', 'stolen', 'expired', 'cleared'));
-- The public half (DER SubjectPublicKeyInfo) of the card's presence key: a key the card uses
-- without its passcode, so even a locked card in the reader can prove it is there.
ALTER TABLE smartcards ADD COLUMN presence_key bytea;
