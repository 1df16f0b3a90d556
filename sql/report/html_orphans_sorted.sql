-- html_orphans.sql for a long list: its rows in the same order, sorted by SQLite on disk in
-- the scratch file (sorted_attach.sql), fetched as far as report.html goes (no LIMIT: SQLite
-- would hold that many rows in memory to sort).
SELECT relpath, CAST(size AS BIGINT) AS size
FROM sqlite_query('sorted', 'SELECT relpath, size FROM orphan_lines ORDER BY relpath')
