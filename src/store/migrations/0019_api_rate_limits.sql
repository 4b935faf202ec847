-- The FHIR APIs' per-key rate limits (src/directory/applications/fleet-rate-limits.ts): one
-- counter per API and application key and fixed window, to which every node adds its requests,
-- so a key's limit holds for the fleet rather than for each node. Old windows are removed as
-- counting goes on.
CREATE TABLE api_rate_limits (
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX api_rate_limits_window ON api_rate_limits (window_start);
