-- Access transparency (issue #6). Decree 13/2023/NĐ-CP art. 9 gives the data subject the right to
-- know how their personal data is processed; like Estonia's data tracker, every read of a
-- person's data by someone else (an officer, a partner system, another system) is kept here,
-- and the person reads their own entries at /account/access-log.
--
-- Append-only and hash-chained: ids are given in chain order by the writer, which holds the
-- chain head row (SELECT … FOR UPDATE) for the batch, so app servers sharing this database
-- append one after another; hash = SHA-256(prev_hash ‖ "\n" ‖ canonical entry) (see
-- crates/storage/src/chain.rs). `thanglong audit verify` walks the chain.
CREATE TABLE access_log (
    id           BIGINT PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    subject_id   BIGINT NOT NULL REFERENCES accounts(id),
    reader_id    BIGINT REFERENCES accounts(id),
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

-- The last link of each chain; writers hold its row for their transaction.
CREATE TABLE chain_heads (
    chain     TEXT PRIMARY KEY,
    last_seq  BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO chain_heads (chain, last_seq, last_hash) VALUES
    ('access_log', 0, '0000000000000000000000000000000000000000000000000000000000000000'),
    ('audit_log', 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The audit log (writes) is chained too, by a background sealer rather than by each request:
-- requests keep inserting in their own transactions (no lock shared by every write), and the
-- sealer links committed rows in the order it finds them (seal_seq), a few seconds later. Ids
-- from the identity column commit out of order across transactions, so seal order, not id
-- order, is the chain's order.
ALTER TABLE audit_log ADD COLUMN seal_seq BIGINT;
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seal_seq ON audit_log(seal_seq);
CREATE INDEX audit_log_unsealed ON audit_log(id) WHERE seal_seq IS NULL;

-- The database refuses changes too (the chain is what shows one that got past it).
CREATE FUNCTION thanglong_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE OR DELETE ON access_log
    FOR EACH ROW EXECUTE FUNCTION thanglong_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION thanglong_append_only();
-- Only the sealer's one update of an unsealed row's seal columns is allowed.
CREATE TRIGGER audit_log_seal_only BEFORE UPDATE ON audit_log
    FOR EACH ROW WHEN (OLD.seal_seq IS NOT NULL
        OR (NEW.id, NEW.at, NEW.actor_id, NEW.actor_label, NEW.action, NEW.target_type, NEW.target_id, NEW.detail, NEW.ip, NEW.request_id)
           IS DISTINCT FROM
           (OLD.id, OLD.at, OLD.actor_id, OLD.actor_label, OLD.action, OLD.target_type, OLD.target_id, OLD.detail, OLD.ip, OLD.request_id))
    EXECUTE FUNCTION thanglong_append_only();
