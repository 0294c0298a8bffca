-- A counter bumped in the same transaction as every catalog write, so app servers that keep
-- the catalog in memory (the search index) know when to reload it.
CREATE TABLE catalog_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO catalog_state (id, generation) VALUES (1, 1);
