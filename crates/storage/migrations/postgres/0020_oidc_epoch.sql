-- The OIDC provider's cache generation. App servers keep clients and validated access tokens in
-- memory; any change that could make a cached answer wrong (a token revoked or deleted, an account
-- disabled or renamed, a role granted or withdrawn, a client changed or suspended, an agency's
-- electronic id changed) bumps this counter in the same transaction, from any process (the CLI
-- too), so every server drops its cache as soon as it sees the new value (it polls it).
CREATE TABLE oidc_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  BIGINT NOT NULL
);
INSERT INTO oidc_epoch (id, epoch) VALUES (1, 0);

CREATE FUNCTION thanglong_oidc_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1;
    RETURN NULL;
END
$$;

CREATE TRIGGER oidc_epoch_token_revoked AFTER UPDATE OF revoked_at ON oidc_tokens
    FOR EACH ROW WHEN (NEW.revoked_at IS DISTINCT FROM OLD.revoked_at) EXECUTE FUNCTION thanglong_oidc_epoch_bump();
CREATE TRIGGER oidc_epoch_token_deleted AFTER DELETE ON oidc_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION thanglong_oidc_epoch_bump();
CREATE TRIGGER oidc_epoch_account AFTER UPDATE OF kind, login, display_name, email, phone, agency_id, status ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION thanglong_oidc_epoch_bump();
CREATE TRIGGER oidc_epoch_account_deleted AFTER DELETE ON accounts
    FOR EACH STATEMENT EXECUTE FUNCTION thanglong_oidc_epoch_bump();
CREATE TRIGGER oidc_epoch_roles AFTER INSERT OR UPDATE OR DELETE ON account_roles
    FOR EACH STATEMENT EXECUTE FUNCTION thanglong_oidc_epoch_bump();
CREATE TRIGGER oidc_epoch_client AFTER UPDATE OR DELETE ON oidc_clients
    FOR EACH STATEMENT EXECUTE FUNCTION thanglong_oidc_epoch_bump();
CREATE TRIGGER oidc_epoch_agency AFTER UPDATE OF electronic_id ON agencies
    FOR EACH STATEMENT EXECUTE FUNCTION thanglong_oidc_epoch_bump();
