-- Access transparency (issue #6). Decree 13/2023/NĐ-CP art. 9 gives the data subject the right to
-- know how their personal data is processed; like Estonia's data tracker, every read of a
-- person's data by someone else (an officer, a partner system, another system) is kept here,
-- and the person reads their own entries at /account/access-log.
--
-- Append-only and hash-chained: ids are given in chain order by the writer, which holds the
-- chain head row for the batch; hash = SHA-256(prev_hash ‖ "\n" ‖ canonical entry) (see
-- crates/storage/src/chain.rs). `thanglong audit verify` walks the chain.
CREATE TABLE access_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    subject_id   INTEGER NOT NULL REFERENCES accounts(id),
    reader_id    INTEGER REFERENCES accounts(id),
    reader_label TEXT NOT NULL,
    reader_kind  TEXT NOT NULL,
    agency       TEXT,
    action       TEXT NOT NULL,
    target       TEXT NOT NULL,
    purpose      TEXT NOT NULL,
    client_id    TEXT,
    request_id   TEXT,
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX access_log_subject ON access_log(subject_id, at);

-- The last link of each chain; writers hold its row for their transaction, so appends from
-- several app servers line up one after another.
CREATE TABLE chain_heads (
    chain     TEXT PRIMARY KEY,
    last_seq  INTEGER NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO chain_heads (chain, last_seq, last_hash) VALUES
    ('access_log', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('audit_log', 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The audit log (writes) is chained too, by a background sealer rather than by each request:
-- requests keep inserting in their own transactions (no lock shared by every write), and the
-- sealer links committed rows in the order it finds them (seal_seq), a few seconds later.
ALTER TABLE audit_log ADD COLUMN seal_seq INTEGER;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seal_seq ON audit_log(seal_seq);
CREATE INDEX audit_log_unsealed ON audit_log(id) WHERE seal_seq IS NULL;

-- The database refuses changes too (the chain is what shows one that got past it).
CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log
BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
-- Only the sealer's one update of an unsealed row's seal columns is allowed.
CREATE TRIGGER audit_log_seal_only BEFORE UPDATE ON audit_log
WHEN OLD.seal_seq IS NOT NULL OR NEW.id IS NOT OLD.id OR NEW.at IS NOT OLD.at OR NEW.actor_id IS NOT OLD.actor_id
    OR NEW.actor_label IS NOT OLD.actor_label OR NEW.action IS NOT OLD.action OR NEW.target_type IS NOT OLD.target_type
    OR NEW.target_id IS NOT OLD.target_id OR NEW.detail IS NOT OLD.detail OR NEW.ip IS NOT OLD.ip
    OR NEW.request_id IS NOT OLD.request_id
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
