-- Officers' second factor (issue #5): a TOTP secret per account, sealed with the configured
-- key-encryption key (a database dump alone does not give the codes), with the last step used
-- so a code works once; single-use recovery codes, stored as hashes.
CREATE TABLE account_totp (
    account_id    INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    secret_sealed BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    confirmed_at  TEXT,
    last_step     INTEGER
);
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    code_hash  TEXT NOT NULL,
    created_at TEXT NOT NULL,
    used_at    TEXT,
    UNIQUE (account_id, code_hash)
);
-- An administrator requires the second factor per agency; it applies to the agency's subtree.
CREATE TABLE agency_security (
    agency_id              INTEGER PRIMARY KEY REFERENCES agencies(id),
    require_second_factor  INTEGER NOT NULL DEFAULT 0,
    updated_at             TEXT NOT NULL,
    updated_by             INTEGER REFERENCES accounts(id)
);
-- A session is 'full', or half-way through sign-in: 'second_factor' (password checked, code
-- awaited) or 'enrol' (password checked, the agency requires a second factor not set up yet).
-- amr: how the holder authenticated (RFC 8176 values: pwd, otp, fed…), space-separated.
ALTER TABLE sessions ADD COLUMN stage TEXT NOT NULL DEFAULT 'full';
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
