-- The audit chain becomes keyed: from now on each event's hash is an HMAC-SHA-256 under a key
-- derived from the master key (src/audit/chain-key.ts), so whoever can write to the table but
-- does not hold the master key cannot edit an event and recompute the chain after it.
-- Events already written keep their plain SHA-256 links and are marked version 1. They are not
-- re-keyed: that would need UPDATE on an append-only table and would bless any edit made before
-- the upgrade. Instead the first keyed event (written by `careid migrate` or `serve`, see
-- src/audit/keying.ts) carries the last unkeyed hash inside its HMAC, which pins them.
-- The default serves only the rows already present; new rows must say which version they are.
ALTER TABLE audit_events ADD COLUMN chain_version smallint NOT NULL DEFAULT 1
  CHECK (chain_version IN (1, 2));
ALTER TABLE audit_events ALTER COLUMN chain_version DROP DEFAULT;
