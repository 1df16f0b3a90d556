-- html_orphans.sql for a long list: its first {limit} rows (all report.html holds) in the same
-- order, sorted by SQLite on disk in the scratch file (sorted_attach.sql).
SELECT relpath, CAST(size AS BIGINT) AS size
FROM sqlite_query('sorted', 'SELECT relpath, size FROM orphan_lines ORDER BY relpath LIMIT {limit}')
