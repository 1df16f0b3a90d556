-- The flagged rows, a temporary table that stands in for the view of that name, from the
-- shown rows read by id (shown_rows.sql), after largest.sql. A copy: keeping the shown rows
-- under that name and deleting the others cost 8 MB more at 1M attachments.
CREATE OR REPLACE TEMP TABLE flagged_rows AS SELECT * FROM shown_rows WHERE flagged;
DROP TABLE shown_rows;
