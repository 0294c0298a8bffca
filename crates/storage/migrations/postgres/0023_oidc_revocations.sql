-- Access tokens are not stored: they are sealed (encrypted and authenticated) by the server and
-- carry their own grant, client, account, scope and lifetime. What is stored is what revokes
-- them before they expire: a grant ('grant:<id>', a reused code or refresh token, a revoked
-- refresh token), one token ('token:<key>', RFC 7009 revocation), or every token a client got
-- for a person before a time ('consent:<account>:<client>', a withdrawn consent). A row is kept
-- until every token it could revoke has expired (expires_at), then purged.
CREATE TABLE oidc_revocations (
    key        TEXT PRIMARY KEY,
    revoked_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX oidc_revocations_expires ON oidc_revocations(expires_at);

-- A revocation drops every server's cached userinfo answers, like a revoked stored token.
CREATE TRIGGER oidc_epoch_revocation AFTER INSERT OR UPDATE ON oidc_revocations
    FOR EACH STATEMENT EXECUTE FUNCTION thanglong_oidc_epoch_bump();
