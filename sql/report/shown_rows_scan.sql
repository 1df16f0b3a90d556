-- The shown rows read whole with one scan of the state when they are too many to read by id
-- (more than report.FEW_ROWS; after a bad chown, every attachment), on one thread
-- (one_thread.sql), so that the table spills within the build's memory limit.
DROP VIEW shown_results;
SET VARIABLE shown_ids = NULL;
CREATE OR REPLACE TEMP TABLE shown_rows AS
FROM attachments_in('state.results')
WHERE flagged
   OR list_contains(getvariable('largest_ids'), id)
   OR list_contains(getvariable('largest_issue_ids'), issue_id);
