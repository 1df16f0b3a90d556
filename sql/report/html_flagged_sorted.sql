-- html_flagged.sql for a long list: its rows in the same order, sorted by SQLite on disk in
-- the scratch file (sorted_attach.sql), fetched as far as report.html goes (no LIMIT: SQLite
-- would hold that many rows in memory to sort). The caller substitutes {flag}.
SELECT link, filename, issue_link, issue_key, project_name, detail
FROM sqlite_query('sorted', 'SELECT link, filename, issue_link, coalesce(issue_key, ''issue '' || issue_id) AS issue_key,
    project_name, detail
    FROM flagged_lines WHERE {flag} = 1
    ORDER BY project_key IS NULL, project_key, issue_num IS NULL, issue_num, id')
