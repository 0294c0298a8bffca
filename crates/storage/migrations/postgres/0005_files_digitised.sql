-- Components scanned at the counter (số hóa hồ sơ, Decree 45/2020 art. 25) are marked as such.
ALTER TABLE files ADD COLUMN digitised BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX files_owner_unbound ON files(owner_id) WHERE dossier_id IS NULL;
