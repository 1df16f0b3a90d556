-- One line per flagged attachment (flagged_line, views.sql), in project, issue and id order,
-- sorted by DuckDB while the lists are short (report.FEW_ROWS; else list_flagged_sorted.sql).
-- The caller substitutes {flag}, one of the fixed flag column names (never user input).
SELECT flagged_line(link, issue_key, issue_id, project_name, filename, detail) AS line
FROM flagged_rows
WHERE {flag}
ORDER BY project_key NULLS LAST, issue_num NULLS LAST, id
