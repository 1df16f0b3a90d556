CREATE OR REPLACE TEMP TABLE flagged_rows AS SELECT * FROM attachments WHERE flagged
