-- The temporary tables that stand in for the views of the same name, from the shown rows
-- (shown_ids.sql, shown_rows.sql).
DROP VIEW shown_results;
CREATE OR REPLACE TEMP TABLE flagged_rows AS SELECT * FROM shown_rows WHERE flagged;
CREATE OR REPLACE TEMP TABLE largest_attachments AS FROM largest_attachments_in('shown_rows');
CREATE OR REPLACE TEMP TABLE largest_issues AS FROM largest_issues_in('shown_rows');
DROP TABLE shown_rows;
