-- Dossiers (hồ sơ), their events, and the per-agency daily counters behind dossier codes.

-- One row per agency and local day; incremented inside the submitting transaction (the row lock
-- serialises concurrent submissions to one agency), so a rolled-back submission gives its
-- number back and codes stay gap-free across any number of app servers.
CREATE TABLE dossier_counters (
    agency_id BIGINT NOT NULL REFERENCES agencies(id),
    day       DATE NOT NULL,
    last      BIGINT NOT NULL,
    PRIMARY KEY (agency_id, day)
);

CREATE TABLE dossiers (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code             TEXT UNIQUE,
    procedure_code   TEXT NOT NULL,
    version_no       BIGINT NOT NULL,
    agency_id        BIGINT NOT NULL REFERENCES agencies(id),
    applicant_id     BIGINT NOT NULL REFERENCES accounts(id),
    acted_by_id      BIGINT NOT NULL REFERENCES accounts(id),
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    answers          JSONB NOT NULL DEFAULT '{}',
    revision         BIGINT NOT NULL DEFAULT 1,
    idempotency_key  TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    submitted_at     TIMESTAMPTZ,
    UNIQUE (applicant_id, idempotency_key)
);
CREATE INDEX dossiers_applicant ON dossiers(applicant_id, updated_at);
CREATE INDEX dossiers_agency_status ON dossiers(agency_id, status);

CREATE TABLE dossier_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dossier_id  BIGINT NOT NULL REFERENCES dossiers(id),
    at          TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    actor_id    BIGINT REFERENCES accounts(id),
    detail      JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX dossier_events_dossier ON dossier_events(dossier_id, id);
