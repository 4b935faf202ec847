-- Relying parties registered by their suppliers (src/cis2/relying-parties.ts): the organisation
-- that owns a client, the environment it is for, who registered it and, for production, who
-- approved it. A client awaiting approval is not served by the provider. Clients the operator
-- registers from the command line keep no organisation.
ALTER TABLE oidc_clients
  ADD COLUMN organisation_code text,
  ADD COLUMN environment text CHECK (environment IN ('development', 'production')),
  ADD COLUMN registered_by text,
  ADD COLUMN approved_by text,
  ADD COLUMN awaiting_approval boolean NOT NULL DEFAULT false;
CREATE INDEX oidc_clients_organisation ON oidc_clients (organisation_code);

-- Which organisation and environment an initial access token (oidc_models, kind
-- InitialAccessToken) registers clients for, and who issued it.
CREATE TABLE client_registration_tokens (
  token_id text PRIMARY KEY,
  organisation_code text NOT NULL,
  environment text NOT NULL CHECK (environment IN ('development', 'production')),
  issued_by text NOT NULL,
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
