-- list_flagged.sql for a long list: the same lines in the same order (NULL keys last), sorted
-- by SQLite on disk in the scratch file (sorted_attach.sql) instead of by DuckDB in memory.
-- The caller substitutes {flag}, one of the fixed flag column names (never user input).
SELECT flagged_line(link, issue_key, CAST(issue_id AS BIGINT), project_name, filename, detail) AS line
FROM sqlite_query('sorted', 'SELECT link, issue_key, issue_id, project_name, filename, detail
    FROM flagged_lines WHERE {flag} = 1
    ORDER BY project_key IS NULL, project_key, issue_num IS NULL, issue_num, id')
