-- Processing after reception (Decree 118/2025 art. 17–21): where a dossier is in its
-- procedure's process (step, the agency and role that must act, that step's due moment), the
-- clock's pauses for supplements, the appointment of Form 01 (moved by pauses, not by a Form 04
-- delay: the 766 index still counts a delayed dossier late), and how it ended.
ALTER TABLE dossiers ADD COLUMN step_id TEXT;
ALTER TABLE dossiers ADD COLUMN step_agency_id INTEGER REFERENCES agencies(id);
ALTER TABLE dossiers ADD COLUMN step_role TEXT;
ALTER TABLE dossiers ADD COLUMN step_started_at TEXT;
ALTER TABLE dossiers ADD COLUMN step_due_at TEXT;
ALTER TABLE dossiers ADD COLUMN paused_at TEXT;
ALTER TABLE dossiers ADD COLUMN supplement_due_at TEXT;
ALTER TABLE dossiers ADD COLUMN appointed_at TEXT;
ALTER TABLE dossiers ADD COLUMN delay_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE dossiers ADD COLUMN finished_at TEXT;
ALTER TABLE dossiers ADD COLUMN outcome TEXT;
-- The processing inbox: the dossiers waiting at a role of an agency, most urgent first.
CREATE INDEX dossiers_inbox ON dossiers(step_agency_id, step_role, step_due_at) WHERE step_role IS NOT NULL;

-- The process control sheet (Form 06): one row per step a dossier went through — who handed it
-- over, when, who acted, what they decided and whether they were early, on time or late.
CREATE TABLE dossier_handoffs (
    id          INTEGER PRIMARY KEY,
    dossier_id  INTEGER NOT NULL REFERENCES dossiers(id),
    step_id     TEXT NOT NULL,
    agency_id   INTEGER NOT NULL REFERENCES agencies(id),
    role        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    due_at      TEXT,
    giver_id    INTEGER REFERENCES accounts(id),
    handler_id  INTEGER REFERENCES accounts(id),
    ended_at    TEXT,
    decision    TEXT,
    timeliness  TEXT,
    note        TEXT
);
CREATE INDEX dossier_handoffs_dossier ON dossier_handoffs(dossier_id, id);
