-- Exact count, only used when the table has no planner statistics yet.
SELECT count(*) AS n FROM fileattachment
