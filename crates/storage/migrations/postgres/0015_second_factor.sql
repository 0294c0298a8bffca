-- Officers' second factor (issue #5): a TOTP secret per account, sealed with the configured
-- key-encryption key (a database dump alone does not give the codes), with the last step used
-- so a code works once; single-use recovery codes, stored as hashes.
CREATE TABLE account_totp (
    account_id    BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    secret_sealed BYTEA NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    confirmed_at  TIMESTAMPTZ,
    last_step     BIGINT
);
CREATE TABLE recovery_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    UNIQUE (account_id, code_hash)
);
-- An administrator requires the second factor per agency; it applies to the agency's subtree.
CREATE TABLE agency_security (
    agency_id              BIGINT PRIMARY KEY REFERENCES agencies(id),
    require_second_factor  BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at             TIMESTAMPTZ NOT NULL,
    updated_by             BIGINT REFERENCES accounts(id)
);
-- A session is 'full', or half-way through sign-in: 'second_factor' (password checked, code
-- awaited) or 'enrol' (password checked, the agency requires a second factor not set up yet).
-- amr: how the holder authenticated (RFC 8176 values: pwd, otp, fed…), space-separated.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
