-- Sign-in throttles (src/authenticators/throttle.ts): one counter per rule and key (a client
-- address, an account, or both), counting within a fixed window that starts at window_start.
-- Every node shares them, so limits hold behind a load balancer. last_attempt_at times the
-- back-off. Account keys are Care Identity UUIDs or a digest of an unknown identifier, never an
-- email address. Rows of windows that have ended are removed by the CIS2 clean-up.
CREATE TABLE sign_in_throttles (
  key text PRIMARY KEY,
  window_start timestamptz NOT NULL,
  count integer NOT NULL,
  last_attempt_at timestamptz NOT NULL
);
CREATE INDEX sign_in_throttles_window ON sign_in_throttles (window_start);
