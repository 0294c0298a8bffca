-- The OIDC provider's cache generation. App servers keep clients and validated access tokens in
-- memory; any change that could make a cached answer wrong (a token revoked or deleted, an account
-- disabled or renamed, a role granted or withdrawn, a client changed or suspended, an agency's
-- electronic id changed) bumps this counter in the same transaction, from any process (the CLI
-- too), so every server drops its cache as soon as it sees the new value (it polls it).
CREATE TABLE oidc_epoch (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    epoch  INTEGER NOT NULL
);
INSERT INTO oidc_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER oidc_epoch_token_revoked AFTER UPDATE OF revoked_at ON oidc_tokens
    WHEN NEW.revoked_at IS NOT OLD.revoked_at
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_token_deleted AFTER DELETE ON oidc_tokens
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_account AFTER UPDATE OF kind, login, display_name, email, phone, agency_id, status ON accounts
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_account_deleted AFTER DELETE ON accounts
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_role_added AFTER INSERT ON account_roles
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_role_changed AFTER UPDATE ON account_roles
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_role_removed AFTER DELETE ON account_roles
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_client AFTER UPDATE ON oidc_clients
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_client_deleted AFTER DELETE ON oidc_clients
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER oidc_epoch_agency AFTER UPDATE OF electronic_id ON agencies
    BEGIN UPDATE oidc_epoch SET epoch = epoch + 1 WHERE id = 1; END;
