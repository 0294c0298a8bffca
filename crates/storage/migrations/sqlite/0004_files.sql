-- Uploaded files (attachments of dossier components). The bytes live in the file store under
-- storage_key; this row is the only way to them. A file whose dossier was never filed is removed
-- after the retention period (see `thanglong files cleanup`).
CREATE TABLE files (
    id           TEXT PRIMARY KEY,
    owner_id     INTEGER NOT NULL REFERENCES accounts(id),
    dossier_id   INTEGER REFERENCES dossiers(id),
    field        TEXT NOT NULL,
    component    TEXT NOT NULL,
    name         TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    storage_key  TEXT NOT NULL,
    created_at   TEXT NOT NULL
);
CREATE INDEX files_dossier ON files(dossier_id);
CREATE INDEX files_created ON files(created_at);
