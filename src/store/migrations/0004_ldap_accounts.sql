-- LDAP service accounts: systems that bind to the directory's LDAP server by simple bind. Only
-- an scrypt hash of each password is kept; the password is shown once, when the account is made.
CREATE TABLE ldap_accounts (
  name text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
  password_hash text NOT NULL,
  description text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The LDAP tree names organisations' people by ODS code: (nhsIDCode=<ods>) on nhsOrgPerson
-- entries reads person_organisations by organisation.
CREATE INDEX person_organisations_organisation ON person_organisations (ods_code);
