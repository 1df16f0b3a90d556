-- The hundred largest issues by bytes, narrow (ids and sizes; flagged.sql reads their rows).
-- A group per issue: run as a bounded step (bounded_step.sql).
CREATE OR REPLACE TEMP TABLE largest_issue_sizes AS FROM main.largest_issue_sizes;
