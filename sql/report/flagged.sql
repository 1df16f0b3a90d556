-- Read every column once, only for the rows a report shows in full: the flagged ones and
-- those of the largest attachments and issues, whose ids a narrow read finds first. Their
-- ids go in as constant lists (variables): written as IN (subquery), DuckDB joins the whole
-- table against them and runs out of the report's memory. The temporary tables stand in for
-- the views of the same name (largest_issue_sizes is made first, by largest_issue_sizes.sql).
CREATE OR REPLACE TEMP TABLE largest_attachment_sizes AS FROM main.largest_attachment_sizes;
SET VARIABLE largest_ids = (SELECT coalesce(list(id), []) FROM largest_attachment_sizes);
SET VARIABLE largest_issue_ids = (SELECT coalesce(list(issue_id), []) FROM largest_issue_sizes);
CREATE OR REPLACE TEMP TABLE shown_rows AS
SELECT * FROM attachments
WHERE flagged
   OR list_contains(getvariable('largest_ids'), id)
   OR list_contains(getvariable('largest_issue_ids'), issue_id);
CREATE OR REPLACE TEMP TABLE flagged_rows AS SELECT * FROM shown_rows WHERE flagged;
CREATE OR REPLACE TEMP TABLE largest_attachments AS FROM largest_attachments_in('shown_rows');
CREATE OR REPLACE TEMP TABLE largest_issues AS FROM largest_issues_in('shown_rows');
DROP TABLE shown_rows;
