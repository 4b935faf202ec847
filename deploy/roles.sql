-- The database and its two roles (run as a superuser, with psql -v for the passwords):
-- careid_owner owns the schema and applies migrations (careid migrate); careid_app is what the
-- nodes run as: it reads and writes rows, cannot change the schema, and cannot rewrite the
-- audit log (see grants.sql, applied after each migration).
SELECT format('CREATE ROLE careid_owner LOGIN PASSWORD %L', :'owner_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'careid_owner') \gexec
SELECT format('CREATE ROLE careid_app LOGIN PASSWORD %L', :'app_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'careid_app') \gexec
SELECT 'CREATE DATABASE careid OWNER careid_owner'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'careid') \gexec
\connect careid
ALTER SCHEMA public OWNER TO careid_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO careid_app;
ALTER DEFAULT PRIVILEGES FOR ROLE careid_owner IN SCHEMA public
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO careid_app;
ALTER DEFAULT PRIVILEGES FOR ROLE careid_owner IN SCHEMA public
  GRANT USAGE, SELECT ON SEQUENCES TO careid_app;
