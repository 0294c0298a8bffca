-- Thăng Long foundation schema (SQLite). Dates are ISO text (YYYY-MM-DD), instants RFC 3339 text in UTC.

CREATE TABLE fields (
    code    TEXT PRIMARY KEY,
    name_vi TEXT NOT NULL,
    name_en TEXT
);

CREATE TABLE admin_units (
    code        TEXT PRIMARY KEY,
    name_vi     TEXT NOT NULL,
    name_en     TEXT,
    kind        TEXT NOT NULL,
    parent_code TEXT REFERENCES admin_units(code),
    valid_from  TEXT NOT NULL,
    valid_to    TEXT,
    successors  TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX admin_units_parent ON admin_units(parent_code);

CREATE TABLE agencies (
    id             INTEGER PRIMARY KEY,
    electronic_id  TEXT NOT NULL UNIQUE,
    name_vi        TEXT NOT NULL,
    name_en        TEXT,
    level          TEXT NOT NULL,
    parent_id      INTEGER REFERENCES agencies(id),
    admin_unit     TEXT REFERENCES admin_units(code),
    address        TEXT,
    phone          TEXT,
    email          TEXT,
    valid_from     TEXT NOT NULL,
    valid_to       TEXT,
    updated_at     TEXT NOT NULL
);
CREATE INDEX agencies_parent ON agencies(parent_id);

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    login          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    email          TEXT,
    phone          TEXT,
    password_hash  TEXT,
    agency_id      INTEGER REFERENCES agencies(id),
    status         TEXT NOT NULL DEFAULT 'active',
    failed_logins  INTEGER NOT NULL DEFAULT 0,
    locked_until   TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    last_login_at  TEXT
);

CREATE TABLE account_roles (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    granted_at  TEXT NOT NULL,
    granted_by  INTEGER REFERENCES accounts(id),
    PRIMARY KEY (account_id, role, agency_id)
);

-- A login at an external identity provider (e.g. the national VNeID), linked to one account.
CREATE TABLE federated_identities (
    id            INTEGER PRIMARY KEY,
    provider      TEXT NOT NULL,
    subject       TEXT NOT NULL,
    account_id    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    verified_at   TEXT NOT NULL,
    last_login_at TEXT,
    claims        TEXT NOT NULL DEFAULT '{}',
    UNIQUE (provider, subject)
);
CREATE INDEX federated_identities_account ON federated_identities(account_id);

-- Server-side sessions; only a hash of the cookie value is stored.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Personal API tokens; only a hash is stored.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
);
CREATE INDEX api_tokens_account ON api_tokens(account_id);

CREATE TABLE procedures (
    id         INTEGER PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);

-- Immutable versions; effective_to is the next version's effective_from (maintained on insert).
CREATE TABLE procedure_versions (
    id             INTEGER PRIMARY KEY,
    procedure_id   INTEGER NOT NULL REFERENCES procedures(id),
    version_no     INTEGER NOT NULL,
    effective_from TEXT NOT NULL,
    effective_to   TEXT,
    name_vi        TEXT NOT NULL,
    name_en        TEXT,
    field_code     TEXT NOT NULL REFERENCES fields(code),
    level          TEXT NOT NULL,
    time_value     INTEGER NOT NULL,
    time_unit      TEXT NOT NULL,
    agency_count   INTEGER NOT NULL,
    body           TEXT NOT NULL,
    search_name    TEXT NOT NULL,
    search_body    TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    created_by     INTEGER REFERENCES accounts(id),
    UNIQUE (procedure_id, version_no),
    UNIQUE (procedure_id, effective_from)
);
CREATE INDEX procedure_versions_current ON procedure_versions(effective_from, effective_to);
CREATE INDEX procedure_versions_field ON procedure_versions(field_code);
CREATE INDEX procedure_versions_sort ON procedure_versions(search_name);

CREATE TABLE procedure_version_agencies (
    version_id INTEGER NOT NULL REFERENCES procedure_versions(id),
    agency_id  INTEGER NOT NULL REFERENCES agencies(id),
    position   INTEGER NOT NULL,
    PRIMARY KEY (version_id, agency_id)
);
CREATE INDEX procedure_version_agencies_agency ON procedure_version_agencies(agency_id);

-- Full-text index over the folded text (diacritics, case and đ removed in Rust before indexing).
CREATE VIRTUAL TABLE procedure_fts USING fts5(
    search_name, search_body,
    content = 'procedure_versions', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 0'
);
CREATE TRIGGER procedure_versions_ai AFTER INSERT ON procedure_versions BEGIN
    INSERT INTO procedure_fts(rowid, search_name, search_body) VALUES (new.id, new.search_name, new.search_body);
END;
CREATE TRIGGER procedure_versions_ad AFTER DELETE ON procedure_versions BEGIN
    INSERT INTO procedure_fts(procedure_fts, rowid, search_name, search_body) VALUES ('delete', old.id, old.search_name, old.search_body);
END;
CREATE TRIGGER procedure_versions_au AFTER UPDATE OF search_name, search_body ON procedure_versions BEGIN
    INSERT INTO procedure_fts(procedure_fts, rowid, search_name, search_body) VALUES ('delete', old.id, old.search_name, old.search_body);
    INSERT INTO procedure_fts(rowid, search_name, search_body) VALUES (new.id, new.search_name, new.search_body);
END;

-- Who did what, when. Append-only.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    actor_id    INTEGER REFERENCES accounts(id),
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT '{}',
    ip          TEXT,
    request_id  TEXT
);
CREATE INDEX audit_log_target ON audit_log(target_type, target_id);
CREATE INDEX audit_log_actor ON audit_log(actor_id);

-- Key/value settings of the installation (e.g. the demo seed marker).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
