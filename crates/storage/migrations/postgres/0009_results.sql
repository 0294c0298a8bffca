-- Signed electronic results (Decree 118/2025 art. 22; Decree 45/2020 art. 14), the keys that
-- sign them, the citizen's notifications, and the mail outbox written in the same transaction
-- as the action it reports.

-- Certification authorities whose certificates officers' keys are issued under. Private keys
-- are sealed (AES-256-GCM) with the key-encryption key from the configuration. Retired CAs stay,
-- so results they signed still verify.
CREATE TABLE signing_cas (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cert_der    BYTEA NOT NULL,
    sealed_key  BYTEA,
    created_at  TIMESTAMPTZ NOT NULL,
    retired_at  TIMESTAMPTZ
);

-- An officer's signing certificate and sealed key.
CREATE TABLE signing_credentials (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    ca_id       BIGINT NOT NULL REFERENCES signing_cas(id),
    cert_der    BYTEA NOT NULL,
    sealed_key  BYTEA NOT NULL,
    not_after   TIMESTAMPTZ NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    revoked_at  TIMESTAMPTZ
);
CREATE INDEX signing_credentials_account ON signing_credentials(account_id, id);

-- Issued results: the public id is in the QR code; the SHA-256 of the signed file finds an
-- uploaded copy.
CREATE TABLE results (
    id             TEXT PRIMARY KEY,
    dossier_id     BIGINT NOT NULL REFERENCES dossiers(id),
    kind           TEXT NOT NULL,
    number         TEXT NOT NULL,
    title          TEXT NOT NULL,
    storage_key    TEXT NOT NULL,
    size           BIGINT NOT NULL,
    sha256         TEXT NOT NULL UNIQUE,
    signer_id      BIGINT NOT NULL REFERENCES accounts(id),
    signer_name    TEXT NOT NULL,
    agency_name    TEXT NOT NULL,
    cert_serial    TEXT NOT NULL,
    signed_at      TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT
);
CREATE INDEX results_dossier ON results(dossier_id);

-- What the citizen sees under "Thông báo".
CREATE TABLE notifications (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    dossier_id  BIGINT REFERENCES dossiers(id),
    kind        TEXT NOT NULL,
    title_vi    TEXT NOT NULL,
    title_en    TEXT NOT NULL,
    body_vi     TEXT NOT NULL,
    body_en     TEXT NOT NULL,
    link        TEXT,
    created_at  TIMESTAMPTZ NOT NULL,
    read_at     TIMESTAMPTZ
);
CREATE INDEX notifications_account ON notifications(account_id, id);

-- Mail to send; a worker claims due rows (leasing them by moving next_attempt_at), sends them
-- through SMTP and records the outcome, retrying with back-off until delivered or given up.
CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,
    html_body        TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    next_attempt_at  TIMESTAMPTZ,
    attempts         INTEGER NOT NULL DEFAULT 0,
    sent_at          TIMESTAMPTZ,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
