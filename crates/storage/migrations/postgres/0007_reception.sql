-- Reception (Decree 118/2025 art. 15–16): when the complete dossier was received (the clock's
-- start), the appointed return moment (Form 01), and how many supplement requests it had (a
-- second one makes it late in the 766 index).
ALTER TABLE dossiers ADD COLUMN received_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN due_at TIMESTAMPTZ;
ALTER TABLE dossiers ADD COLUMN supplement_count INTEGER NOT NULL DEFAULT 0;
CREATE INDEX dossiers_queue ON dossiers(status, agency_id, submitted_at);
