-- Read the state once for a report: flagged rows are few, and every list and count below is
-- answered from this in-memory table instead of re-scanning SQLite. Orphans are collected
-- into orphan_rows by sql/report/orphans_partition.sql.
CREATE OR REPLACE TEMP TABLE flagged_rows AS SELECT * FROM attachments WHERE flagged;
CREATE OR REPLACE TEMP TABLE orphan_rows (relpath VARCHAR, size BIGINT, kind VARCHAR, att_id BIGINT);
