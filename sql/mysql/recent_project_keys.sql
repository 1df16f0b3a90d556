-- postgres/recent_project_keys.sql in MySQL's dialect: the original keys of the projects the
-- newest attachments went to (the primary key read backwards).
SELECT DISTINCT coalesce(p.originalkey, p.pkey) AS original_key
FROM (SELECT issueid FROM fileattachment ORDER BY id DESC LIMIT %(limit)s) fa
JOIN jiraissue ji ON ji.id = fa.issueid
JOIN project p ON p.id = ji.project
