-- Partner systems call the JSON API and the GovStack API with OAuth client-credentials tokens.
-- Such a client acts as one account (a partner organisation's business account, or an officer
-- service account with role grants), never with more than that account may do, and only within
-- the API scopes it was registered with. NULL: the client only signs people in, or reads what
-- anyone may read.
ALTER TABLE oidc_clients ADD COLUMN service_account_id BIGINT REFERENCES accounts(id);
