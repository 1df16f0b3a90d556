-- The temporary tables that stand in for the views of the same name, from the shown rows
-- (shown_ids.sql, then shown_rows.sql or shown_rows_scan.sql); flagged.sql or
-- flagged_in_place.sql keeps the rest.
CREATE OR REPLACE TEMP TABLE largest_attachments AS FROM largest_attachments_in('shown_rows');
CREATE OR REPLACE TEMP TABLE largest_issues AS FROM largest_issues_in('shown_rows');
