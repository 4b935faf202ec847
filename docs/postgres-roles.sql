-- Production roles for careid on PostgreSQL (see docs/audit.md).
--
-- careid_owner, the migration owner, owns every table and runs `careid migrate` at each upgrade.
-- careid_runtime runs `careid serve` and the other commands: it reads and writes the service's
-- tables but may only append to and read the audit log, and, not being its owner, cannot disable
-- the log's append-only trigger, alter or drop it.
--
-- Run as a superuser, connected to the service's database, after the first `careid migrate` as
-- careid_owner:
--   CREATE ROLE careid_owner LOGIN PASSWORD '...';
--   CREATE DATABASE careid OWNER careid_owner;
--   DATABASE_URL=postgres://careid_owner:...@host/careid careid migrate
--   psql -d careid -f docs/postgres-roles.sql   (then set careid_runtime's password)

CREATE ROLE careid_runtime LOGIN;
GRANT USAGE ON SCHEMA public TO careid_runtime;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO careid_runtime;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO careid_runtime;

-- Tables and sequences of later migrations, created by careid_owner, get the same grants.
ALTER DEFAULT PRIVILEGES FOR ROLE careid_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO careid_runtime;
ALTER DEFAULT PRIVILEGES FOR ROLE careid_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO careid_runtime;

-- The audit log: INSERT and SELECT only. audit_head (the chain's newest link, updated with each
-- event) stays writable: rolling it back can only make the log look truncated.
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM careid_runtime;
