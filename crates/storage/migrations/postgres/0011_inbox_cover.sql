-- The processing inbox at scale (bench/inbox.sh, 1,000,000 dossiers): the page is chosen from
-- the index alone (an index-only scan) — the step's agency and role, then due order with the id
-- as tie-break (the query's ORDER BY), the status and procedure the filters test carried along
-- — so an officer over many agencies sorts a few thousand index entries instead of reading a
-- few thousand rows.
DROP INDEX dossiers_inbox;
CREATE INDEX dossiers_inbox ON dossiers(step_agency_id, step_role, step_due_at, id) INCLUDE (status, procedure_code)
    WHERE step_role IS NOT NULL;
-- A dossier has a step exactly while it is being processed: without this the planner
-- multiplies the two selectivities and expects one row where there are thousands.
CREATE STATISTICS dossiers_step_status (dependencies, mcv) ON step_role, status FROM dossiers;
