-- An authorization code is written once and, within the minute, updated once (used_at). Pages
-- filled to the brim leave that update no room beside its row, so each one went to another page
-- with a new entry in both of the table's indexes. With room left on every page the update stays
-- on the page (a heap-only tuple: no index entry; the old version is pruned in place). Applies to
-- pages written from now on; codes live a minute.
ALTER TABLE oidc_codes SET (fillfactor = 50);
