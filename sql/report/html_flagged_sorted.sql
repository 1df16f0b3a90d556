-- html_flagged.sql for a long list: its first {limit} rows (all report.html holds) in the same
-- order, sorted by SQLite on disk in the scratch file (sorted_attach.sql). The caller
-- substitutes {flag}, a fixed flag column name, and {limit}.
SELECT link, filename, issue_link, issue_key, project_name, detail
FROM sqlite_query('sorted', 'SELECT link, filename, issue_link, issue_key, project_name, detail
    FROM flagged_lines WHERE {flag} = 1
    ORDER BY project_key IS NULL, project_key, issue_num IS NULL, issue_num, id LIMIT {limit}')
