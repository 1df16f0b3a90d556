-- list_orphans.sql for a long list: the same lines in the same order, sorted by SQLite on
-- disk in the scratch file (sorted_attach.sql) instead of by DuckDB in memory.
SELECT txt(relpath) AS line
FROM sqlite_query('sorted', 'SELECT relpath FROM orphan_lines ORDER BY relpath')
