-- The inbox searches dossiers by the applicant's name without diacritics ("dao" finds "Đào"):
-- the folded name (tl_core::text::fold, computed by the application — SQLite's LOWER() folds
-- ASCII only) is kept on the dossier and carried in the partial inbox index with the code, so a
-- name search over a city's thousands of waiting dossiers reads the index alone. Rows from
-- before this migration are filled at start-up (`backfill_applicant_names`).
ALTER TABLE dossiers ADD COLUMN applicant_folded TEXT;
DROP INDEX dossiers_inbox;
CREATE INDEX dossiers_inbox ON dossiers(step_agency_id, step_role, step_due_at, id, status, procedure_code, code, applicant_folded)
    WHERE step_role IS NOT NULL;
