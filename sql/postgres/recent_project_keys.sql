-- The folders a right attachments root must hold: the original keys of the projects the newest
-- attachments went to (active projects, whose folders Jira has just written). Read before a
-- pass starts, to catch a wrong or unmounted root; the primary key index read backwards, so
-- it costs the same on any size of instance.
SELECT DISTINCT coalesce(p.originalkey, p.pkey) AS original_key
FROM (SELECT issueid FROM fileattachment ORDER BY id DESC LIMIT %(limit)s) fa
JOIN jiraissue ji ON ji.id = fa.issueid
JOIN project p ON p.id = ji.project
