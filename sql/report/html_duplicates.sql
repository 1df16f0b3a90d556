-- The copies list of report.html, in the order of duplicates.txt.
SELECT d.link, d.filename, d.original_link, d.original_filename, d.original_issue_key, d.issue_key, d.project_name,
       d.author, d.size
FROM duplicates d JOIN duplicate_groups g USING (group_id)
WHERE NOT d.is_original
ORDER BY g.wasted_bytes DESC, d.group_id, d.position
