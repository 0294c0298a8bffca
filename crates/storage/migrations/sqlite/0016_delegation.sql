-- Delegation (issue #5): a business's legal representative (the holder of the business
-- account) adds employees who act for it; a citizen authorises another person or a partner
-- organisation to file one procedure for them for a period. A dossier filed so keeps both:
-- applicant_id (whose dossier it is) and acted_by_id (who filled it in).
CREATE TABLE business_members (
    id          INTEGER PRIMARY KEY,
    business_id INTEGER NOT NULL REFERENCES accounts(id),
    member_id   INTEGER NOT NULL REFERENCES accounts(id),
    added_by    INTEGER REFERENCES accounts(id),
    added_at    TEXT NOT NULL,
    removed_at  TEXT
);
CREATE UNIQUE INDEX business_members_live ON business_members(business_id, member_id) WHERE removed_at IS NULL;
CREATE INDEX business_members_member ON business_members(member_id);

CREATE TABLE authorisations (
    id             INTEGER PRIMARY KEY,
    grantor_id     INTEGER NOT NULL REFERENCES accounts(id),
    grantee_id     INTEGER NOT NULL REFERENCES accounts(id),
    procedure_code TEXT NOT NULL,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT NOT NULL,
    note           TEXT,
    created_at     TEXT NOT NULL,
    revoked_at     TEXT
);
CREATE INDEX authorisations_grantor ON authorisations(grantor_id);
CREATE INDEX authorisations_grantee ON authorisations(grantee_id, procedure_code);
