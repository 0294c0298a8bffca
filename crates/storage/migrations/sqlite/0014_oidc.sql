-- The platform as the province's OpenID Connect provider (OpenID Connect Core 1.0, RFC 6749,
-- RFC 7636, RFC 7009, RFC 7662). Secrets and tokens are stored only as SHA-256 hashes; signing
-- keys sealed (AES-256-GCM) with the key-encryption key from the configuration.

-- ID-token signing keys (ES256). The public JWK is kept in clear so a key stays published
-- (JWKS) until every token it signed has expired, even when its sealed half cannot be opened.
CREATE TABLE oidc_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    public_jwk    TEXT NOT NULL,
    sealed_key    BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    retired_at    TEXT,
    publish_until TEXT
);

-- Relying parties registered by administrators. JSON arrays as text; a NULL secret hash makes
-- a public client (PKCE required).
CREATE TABLE oidc_clients (
    client_id                 TEXT PRIMARY KEY,
    name                      TEXT NOT NULL,
    secret_hash               TEXT,
    redirect_uris             TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    scopes                    TEXT NOT NULL,
    grant_types               TEXT NOT NULL,
    sector                    TEXT NOT NULL,
    created_at                TEXT NOT NULL,
    updated_at                TEXT NOT NULL,
    disabled_at               TEXT
);

-- What a person allowed a client to receive; asked again when a client wants more.
CREATE TABLE oidc_consents (
    account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL REFERENCES oidc_clients(client_id) ON DELETE CASCADE,
    scopes      TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    PRIMARY KEY (account_id, client_id)
);

-- Authorization codes: single use, about a minute. A second use revokes what the first gave
-- (RFC 6749 §4.1.2), found through grant_id.
CREATE TABLE oidc_codes (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL,
    client_id      TEXT NOT NULL REFERENCES oidc_clients(client_id) ON DELETE CASCADE,
    account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL,
    nonce          TEXT,
    code_challenge TEXT,
    auth_time      TEXT NOT NULL,
    sid            TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    used_at        TEXT
);
CREATE INDEX oidc_codes_expires ON oidc_codes(expires_at);

-- Access and refresh tokens (opaque). grant_id ties every token of one authorization together
-- (the refresh-token family), so reuse of a code or of a rotated refresh token revokes them all.
CREATE TABLE oidc_tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    grant_id    TEXT NOT NULL,
    client_id   TEXT NOT NULL REFERENCES oidc_clients(client_id) ON DELETE CASCADE,
    account_id  INTEGER REFERENCES accounts(id) ON DELETE CASCADE,
    scope       TEXT NOT NULL,
    auth_time   TEXT,
    sid         TEXT,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens(grant_id);
CREATE INDEX oidc_tokens_account ON oidc_tokens(account_id, client_id);
CREATE INDEX oidc_tokens_expires ON oidc_tokens(expires_at);
