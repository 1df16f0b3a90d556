-- One line per flagged attachment: link, then issue key, project, filename and detail,
-- tab-separated. Every field passes through txt() so tabs and newlines in names stay escaped.
-- The caller substitutes {flag}, one of the fixed flag column names (never user input).
SELECT txt(link) || chr(9) || txt(coalesce(issue_key, 'issue ' || coalesce(CAST(issue_id AS VARCHAR), '?')))
       || chr(9) || txt(coalesce(project_name, '?')) || chr(9) || txt(filename) || chr(9) || txt(detail) AS line
FROM flagged_rows
WHERE {flag}
ORDER BY project_key NULLS LAST, issue_num NULLS LAST, id
