-- The files of one duplicate group, the original first.
SELECT id, is_original, link, issue_key, issue_link, project_key, author, created, filename
FROM duplicates WHERE group_id = ? ORDER BY position
