-- Rows of one list in report.html; the caller substitutes {flag}, a fixed flag column name.
SELECT link, filename, issue_link, coalesce(issue_key, 'issue ' || issue_id) AS issue_key, project_name, detail
FROM flagged_rows WHERE {flag} ORDER BY project_key, issue_num, id
