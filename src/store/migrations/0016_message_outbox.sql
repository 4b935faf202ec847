-- Messages that go out (src/messaging/): written in the same transaction as the change that
-- causes them, delivered by the outbox worker of any node. A node claims a row by setting
-- claimed_until (under FOR UPDATE SKIP LOCKED), so two nodes never send the same message at
-- once; a node that dies mid-send lets its claim lapse and another retries. The recipient and
-- personalisation (which may hold a one-time code) are sealed under the master key; only a
-- masked recipient is kept in the clear, for the audit log and the operator.
CREATE TABLE message_outbox (
  id text PRIMARY KEY,
  channel text NOT NULL CHECK (channel IN ('email', 'sms')),
  template text NOT NULL,
  sealed_content text NOT NULL,
  masked_recipient text NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL,
  claimed_until timestamptz,
  last_error text,
  provider_reference text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz
);
CREATE INDEX message_outbox_due ON message_outbox (next_attempt_at) WHERE status = 'queued';
