-- Delegation (issue #5): a business's legal representative (the holder of the business
-- account) adds employees who act for it; a citizen authorises another person or a partner
-- organisation to file one procedure for them for a period. A dossier filed so keeps both:
-- applicant_id (whose dossier it is) and acted_by_id (who filled it in).
CREATE TABLE business_members (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    business_id BIGINT NOT NULL REFERENCES accounts(id),
    member_id   BIGINT NOT NULL REFERENCES accounts(id),
    added_by    BIGINT REFERENCES accounts(id),
    added_at    TIMESTAMPTZ NOT NULL,
    removed_at  TIMESTAMPTZ
);
CREATE UNIQUE INDEX business_members_live ON business_members(business_id, member_id) WHERE removed_at IS NULL;
CREATE INDEX business_members_member ON business_members(member_id);

CREATE TABLE authorisations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    grantor_id     BIGINT NOT NULL REFERENCES accounts(id),
    grantee_id     BIGINT NOT NULL REFERENCES accounts(id),
    procedure_code TEXT NOT NULL,
    valid_from     DATE NOT NULL,
    valid_to       DATE NOT NULL,
    note           TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX authorisations_grantor ON authorisations(grantor_id);
CREATE INDEX authorisations_grantee ON authorisations(grantee_id, procedure_code);
