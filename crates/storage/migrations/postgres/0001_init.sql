-- Thăng Long foundation schema (PostgreSQL).

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
    valid_from  DATE NOT NULL,
    valid_to    DATE,
    successors  JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX admin_units_parent ON admin_units(parent_code);

CREATE TABLE agencies (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    electronic_id  TEXT NOT NULL UNIQUE,
    name_vi        TEXT NOT NULL,
    name_en        TEXT,
    level          TEXT NOT NULL,
    parent_id      BIGINT REFERENCES agencies(id),
    admin_unit     TEXT REFERENCES admin_units(code),
    address        TEXT,
    phone          TEXT,
    email          TEXT,
    valid_from     DATE NOT NULL,
    valid_to       DATE,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX agencies_parent ON agencies(parent_id);

CREATE TABLE accounts (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind           TEXT NOT NULL,
    login          TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    email          TEXT,
    phone          TEXT,
    password_hash  TEXT,
    agency_id      BIGINT REFERENCES agencies(id),
    status         TEXT NOT NULL DEFAULT 'active',
    failed_logins  BIGINT NOT NULL DEFAULT 0,
    locked_until   TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    last_login_at  TIMESTAMPTZ
);

CREATE TABLE account_roles (
    account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    role        TEXT NOT NULL,
    agency_id   BIGINT NOT NULL REFERENCES agencies(id),
    granted_at  TIMESTAMPTZ NOT NULL,
    granted_by  BIGINT REFERENCES accounts(id),
    PRIMARY KEY (account_id, role, agency_id)
);

-- A login at an external identity provider (e.g. the national VNeID), linked to one account.
CREATE TABLE federated_identities (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider      TEXT NOT NULL,
    subject       TEXT NOT NULL,
    account_id    BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    verified_at   TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ,
    claims        JSONB NOT NULL DEFAULT '{}',
    UNIQUE (provider, subject)
);
CREATE INDEX federated_identities_account ON federated_identities(account_id);

-- Server-side sessions; only a hash of the cookie value is stored.
CREATE TABLE sessions (
    id_hash      TEXT PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    ip           TEXT,
    user_agent   TEXT
);
CREATE INDEX sessions_account ON sessions(account_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

-- Personal API tokens; only a hash is stored.
CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_account ON api_tokens(account_id);

CREATE TABLE procedures (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

-- Immutable versions; effective_to is the next version's effective_from (maintained on insert).
CREATE TABLE procedure_versions (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    procedure_id   BIGINT NOT NULL REFERENCES procedures(id),
    version_no     BIGINT NOT NULL,
    effective_from DATE NOT NULL,
    effective_to   DATE,
    name_vi        TEXT NOT NULL,
    name_en        TEXT,
    field_code     TEXT NOT NULL REFERENCES fields(code),
    level          TEXT NOT NULL,
    time_value     BIGINT NOT NULL,
    time_unit      TEXT NOT NULL,
    agency_count   BIGINT NOT NULL,
    body           JSONB NOT NULL,
    search_name    TEXT NOT NULL,
    search_body    TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    created_by     BIGINT REFERENCES accounts(id),
    UNIQUE (procedure_id, version_no),
    UNIQUE (procedure_id, effective_from)
);
CREATE INDEX procedure_versions_current ON procedure_versions(effective_from, effective_to);
CREATE INDEX procedure_versions_field ON procedure_versions(field_code);
CREATE INDEX procedure_versions_sort ON procedure_versions(search_name);

CREATE TABLE procedure_version_agencies (
    version_id BIGINT NOT NULL REFERENCES procedure_versions(id),
    agency_id  BIGINT NOT NULL REFERENCES agencies(id),
    position   BIGINT NOT NULL,
    PRIMARY KEY (version_id, agency_id)
);
CREATE INDEX procedure_version_agencies_agency ON procedure_version_agencies(agency_id);

-- Full-text index over the folded text (diacritics, case and đ removed in Rust before indexing).
ALTER TABLE procedure_versions ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple', search_name), 'A') || setweight(to_tsvector('simple', search_body), 'B')
) STORED;
CREATE INDEX procedure_versions_search ON procedure_versions USING GIN (search);

-- Who did what, when. Append-only.
CREATE TABLE audit_log (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          TIMESTAMPTZ NOT NULL,
    actor_id    BIGINT REFERENCES accounts(id),
    actor_label TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    detail      JSONB NOT NULL DEFAULT '{}',
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
