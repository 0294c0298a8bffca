-- The processing inbox at scale (bench/inbox.sh, 1,000,000 dossiers): the page is chosen from
-- the index alone — the step's agency and role, then due order with the id as tie-break (the
-- query's ORDER BY), and the status and procedure the filters test — so an officer over many
-- agencies sorts a few thousand index entries instead of reading a few thousand rows.
DROP INDEX dossiers_inbox;
CREATE INDEX dossiers_inbox ON dossiers(step_agency_id, step_role, step_due_at, id, status, procedure_code) WHERE step_role IS NOT NULL;
