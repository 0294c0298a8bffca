-- The citizen's data store (kho dữ liệu cá nhân, Decree 45/2020/NĐ-CP), consent to reuse it
-- (Decree 13/2023/NĐ-CP) and where each answer of a dossier came from (issue #6).

-- The people a store describes: its owner (relation 'self') and those the owner filed for.
CREATE TABLE store_people (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    relation    TEXT NOT NULL,
    name        TEXT NOT NULL,
    personal_id TEXT,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX store_people_self ON store_people(account_id) WHERE relation = 'self';
CREATE INDEX store_people_account ON store_people(account_id);

-- One value per person and item, with its provenance; a stronger source replaces a weaker one.
CREATE TABLE store_items (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id   BIGINT NOT NULL REFERENCES store_people(id) ON DELETE CASCADE,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    item        TEXT NOT NULL,
    value       TEXT NOT NULL,
    source      TEXT NOT NULL,
    dossier_id  BIGINT REFERENCES dossiers(id) ON DELETE SET NULL,
    agency_id   BIGINT REFERENCES agencies(id),
    valid_until DATE,
    updated_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (person_id, item)
);
CREATE INDEX store_items_account ON store_items(account_id);

-- Documents: accepted dossier components (a file) and issued results.
CREATE TABLE store_documents (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT NOT NULL REFERENCES accounts(id),
    person_id   BIGINT REFERENCES store_people(id) ON DELETE SET NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    file_id     TEXT UNIQUE REFERENCES files(id),
    result_id   TEXT UNIQUE REFERENCES results(id),
    dossier_id  BIGINT REFERENCES dossiers(id) ON DELETE SET NULL,
    agency_id   BIGINT REFERENCES agencies(id),
    issued_at   TIMESTAMPTZ NOT NULL,
    valid_until DATE,
    deleted_at  TIMESTAMPTZ
);
CREATE INDEX store_documents_account ON store_documents(account_id, kind);

-- What a purpose uses, on which lawful basis, for how long; versioned, never edited in place.
CREATE TABLE data_agreements (
    id             TEXT NOT NULL,
    version        BIGINT NOT NULL,
    name_vi        TEXT NOT NULL,
    name_en        TEXT NOT NULL,
    purpose_vi     TEXT NOT NULL,
    purpose_en     TEXT NOT NULL,
    controller     TEXT NOT NULL,
    -- The OAuth client (a partner system) the data is shared with; NULL: the portal itself.
    recipient      TEXT,
    items          TEXT NOT NULL,
    lawful_basis   TEXT NOT NULL,
    months         BIGINT NOT NULL,
    effective_from DATE NOT NULL,
    PRIMARY KEY (id, version)
);
INSERT INTO data_agreements (id, version, name_vi, name_en, purpose_vi, purpose_en, controller, items, lawful_basis, months,
    effective_from) VALUES ('prefill', 1,
    'Điền sẵn hồ sơ từ Kho dữ liệu cá nhân', 'Pre-filling forms from your data store',
    'Khi bạn bắt đầu một hồ sơ, Cổng Dịch vụ công điền sẵn các thông tin và giấy tờ bạn đã cung cấp hoặc đã được cơ quan nhà nước xác minh, để bạn không phải khai lại. Bạn xem lại và sửa được mọi thông tin trước khi nộp.',
    'When you start a dossier, the portal fills in the data and documents you gave before or that an agency verified, so you need not give them again. You can review and change everything before filing.',
    'Ủy ban nhân dân Thành phố Hà Nội (Cổng Dịch vụ công Thành phố)',
    '["full_name","birth_date","gender","ethnicity","nationality","personal_id","phone","email","residence","hometown","birth_place","documents"]',
    'consent', 60, DATE '2024-01-01');

-- Each decision is a new revision, hash-chained to the previous one of the same citizen and
-- agreement: the history cannot be rewritten unnoticed.
CREATE TABLE consents (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id        BIGINT NOT NULL REFERENCES accounts(id),
    agreement_id      TEXT NOT NULL,
    agreement_version BIGINT NOT NULL,
    revision          BIGINT NOT NULL,
    state             TEXT NOT NULL,
    at                TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ,
    channel           TEXT NOT NULL,
    prev_hash         TEXT NOT NULL,
    hash              TEXT NOT NULL,
    UNIQUE (account_id, agreement_id, revision),
    FOREIGN KEY (agreement_id, agreement_version) REFERENCES data_agreements(id, version)
);

-- Where a dossier's answers came from: the store item a field was pre-filled from (and the
-- value offered), or the store document reused for an upload field; `origin` is frozen at filing.
CREATE TABLE dossier_provenance (
    dossier_id  BIGINT NOT NULL REFERENCES dossiers(id) ON DELETE CASCADE,
    field       TEXT NOT NULL,
    item_id     BIGINT REFERENCES store_items(id) ON DELETE SET NULL,
    document_id BIGINT REFERENCES store_documents(id) ON DELETE SET NULL,
    value       TEXT,
    source      TEXT NOT NULL,
    agency_name TEXT,
    origin      TEXT,
    PRIMARY KEY (dossier_id, field)
);
