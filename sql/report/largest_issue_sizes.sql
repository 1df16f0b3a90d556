-- The hundred largest issues by bytes, narrow (ids and sizes; shown_ids.sql reads their rows).
-- One group per issue: run on one thread (one_thread.sql) within a small limit of its own, so
-- that DuckDB spills instead of growing with the instance (1M attachments: +22-30 MB instead
-- of +55 MB on two threads with the build's limit; 0.85-1.0 s instead of 0.4 s).
SET memory_limit = getvariable('step_memory_limit');
CREATE OR REPLACE TEMP TABLE largest_issue_sizes AS FROM main.largest_issue_sizes;
