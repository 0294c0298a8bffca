-- Dossiers (hồ sơ), their events, and the per-agency daily counters behind dossier codes.

-- One row per agency and local day; incremented inside the submitting transaction, so a
-- rolled-back submission gives its number back and codes stay gap-free.
CREATE TABLE dossier_counters (
    agency_id INTEGER NOT NULL REFERENCES agencies(id),
    day       TEXT NOT NULL,
    last      INTEGER NOT NULL,
    PRIMARY KEY (agency_id, day)
);

CREATE TABLE dossiers (
    id               INTEGER PRIMARY KEY,
    code             TEXT UNIQUE,
    procedure_code   TEXT NOT NULL,
    version_no       INTEGER NOT NULL,
    agency_id        INTEGER NOT NULL REFERENCES agencies(id),
    applicant_id     INTEGER NOT NULL REFERENCES accounts(id),
    acted_by_id      INTEGER NOT NULL REFERENCES accounts(id),
    channel          TEXT NOT NULL,
    status           TEXT NOT NULL,
    answers          TEXT NOT NULL DEFAULT '{}',
    revision         INTEGER NOT NULL DEFAULT 1,
    idempotency_key  TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    submitted_at     TEXT,
    UNIQUE (applicant_id, idempotency_key)
);
CREATE INDEX dossiers_applicant ON dossiers(applicant_id, updated_at);
CREATE INDEX dossiers_agency_status ON dossiers(agency_id, status);

CREATE TABLE dossier_events (
    id          INTEGER PRIMARY KEY,
    dossier_id  INTEGER NOT NULL REFERENCES dossiers(id),
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    actor_id    INTEGER REFERENCES accounts(id),
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX dossier_events_dossier ON dossier_events(dossier_id, id);
