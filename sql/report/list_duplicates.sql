-- One line per copy (the original is not listed): link of the copy, link of the original,
-- issue key, project, uploader, upload time, size in bytes, filename; tab-separated. Groups
-- with the most wasted bytes first.
SELECT txt(d.link) || chr(9) || txt(d.original_link) || chr(9) || txt(coalesce(d.issue_key, '?')) || chr(9)
       || txt(coalesce(d.project_name, '?')) || chr(9) || txt(d.author) || chr(9)
       || txt(strftime(d.created, '%Y-%m-%d %H:%M')) || chr(9) || d.size || chr(9) || txt(d.filename) AS line
FROM duplicates d
JOIN duplicate_groups g ON g.group_id = d.group_id
WHERE NOT d.is_original
ORDER BY g.wasted_bytes DESC, d.group_id, d.position
