-- After every `careid migrate` (run as careid_owner): the runtime role may only append to the
-- audit log, so a compromised node cannot edit or remove history (careid audit verify would
-- show it anyway). Tables created before the default privileges get them here too.
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO careid_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO careid_app;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM careid_app;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM careid_app;
