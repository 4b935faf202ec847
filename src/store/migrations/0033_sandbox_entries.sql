-- What the sandbox (careid sandbox, src/sandbox/) made from its personas file: each persona's
-- profile and each client it registered, so an edited file changes, ends or closes exactly
-- those and never anything else in the database.
CREATE TABLE sandbox_entries (
  kind text NOT NULL CHECK (kind IN ('persona', 'client')),
  key text NOT NULL,
  uuid text REFERENCES people (uuid),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, key)
);
