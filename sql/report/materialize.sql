-- Read the state once for a report: flagged rows and orphans are few, and every list and
-- count below is answered from these in-memory tables instead of re-scanning SQLite.
CREATE OR REPLACE TEMP TABLE flagged_rows AS SELECT * FROM attachments WHERE flagged;
CREATE OR REPLACE TEMP TABLE orphan_rows AS SELECT * FROM orphans;
