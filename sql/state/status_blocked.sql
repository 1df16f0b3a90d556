-- Rows of a pass whose issue folder the walk found closed to the Jira account and that the
-- checkers did not already flag for permissions (added to the status's permissions count,
-- as the report views add them). Few folders: SQLite drives the join from them.
SELECT count(*)
FROM blocked_folders b
JOIN results r ON r.pass_id = b.pass_id AND r.original_key = b.project AND r.issue_num = b.issue_num
WHERE b.pass_id = :pass_id AND r.relpath IS NOT NULL AND r.flags & :flag_permissions = 0
