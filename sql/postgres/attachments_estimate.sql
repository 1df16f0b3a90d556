-- Planner statistics: instant on any table size, good enough for a progress bar.
-- -1 (never analysed) or a missing table yields NULL and the caller falls back to count(*).
SELECT CASE WHEN c.reltuples >= 0 THEN c.reltuples::bigint END AS estimate
FROM pg_class c
WHERE c.oid = to_regclass('fileattachment')
