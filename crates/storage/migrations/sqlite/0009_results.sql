-- Signed electronic results (Decree 118/2025 art. 22; Decree 45/2020 art. 14), the keys that
-- sign them, the citizen's notifications, and the mail outbox written in the same transaction
-- as the action it reports.

-- Certification authorities whose certificates officers' keys are issued under. Private keys
-- are sealed (AES-256-GCM) with the key-encryption key from the configuration. Retired CAs stay,
-- so results they signed still verify.
CREATE TABLE signing_cas (
    id          INTEGER PRIMARY KEY,
    cert_der    BLOB NOT NULL,
    sealed_key  BLOB,
    created_at  TEXT NOT NULL,
    retired_at  TEXT
);

-- An officer's signing certificate and sealed key.
CREATE TABLE signing_credentials (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    ca_id       INTEGER NOT NULL REFERENCES signing_cas(id),
    cert_der    BLOB NOT NULL,
    sealed_key  BLOB NOT NULL,
    not_after   TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE INDEX signing_credentials_account ON signing_credentials(account_id, id);

-- Issued results: the public id is in the QR code; the SHA-256 of the signed file finds an
-- uploaded copy.
CREATE TABLE results (
    id             TEXT PRIMARY KEY,
    dossier_id     INTEGER NOT NULL REFERENCES dossiers(id),
    kind           TEXT NOT NULL,
    number         TEXT NOT NULL,
    title          TEXT NOT NULL,
    storage_key    TEXT NOT NULL,
    size           INTEGER NOT NULL,
    sha256         TEXT NOT NULL UNIQUE,
    signer_id      INTEGER NOT NULL REFERENCES accounts(id),
    signer_name    TEXT NOT NULL,
    agency_name    TEXT NOT NULL,
    cert_serial    TEXT NOT NULL,
    signed_at      TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
);
CREATE INDEX results_dossier ON results(dossier_id);

-- What the citizen sees under "Thông báo".
CREATE TABLE notifications (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    dossier_id  INTEGER REFERENCES dossiers(id),
    kind        TEXT NOT NULL,
    title_vi    TEXT NOT NULL,
    title_en    TEXT NOT NULL,
    body_vi     TEXT NOT NULL,
    body_en     TEXT NOT NULL,
    link        TEXT,
    created_at  TEXT NOT NULL,
    read_at     TEXT
);
CREATE INDEX notifications_account ON notifications(account_id, id);

-- Mail to send; a worker claims due rows (leasing them by moving next_attempt_at), sends them
-- through SMTP and records the outcome, retrying with back-off until delivered or given up.
CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY,
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,
    html_body        TEXT,
    created_at       TEXT NOT NULL,
    next_attempt_at  TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    sent_at          TEXT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
