-- The flagged attachments of the chosen pass a restore looks at (inspector/restore/command.py),
-- with the content hashes a pass recorded for their path while the file had the size Jira
-- expects (a corrupted file's own hash is of the wrong size, so it never matches), and the
-- issue folder when the walk found Jira cannot enter it.
SELECT a.id, a.relpath, a.filesize, a.missing, a.corrupted, a.permissions, a.filename, a.link,
       a.issue_key, a.detail, h.full_hash, h.head_tail, a.mode, a.uid, a.gid,
       CASE WHEN b.detail IS NOT NULL AND a.relpath IS NOT NULL
            THEN regexp_replace(a.relpath, '/[^/]*$', '') END AS blocked_folder
FROM attachments a
LEFT JOIN hash_source h ON h.relpath = a.relpath AND h.size = a.filesize AND h.error IS NULL
LEFT JOIN blocked_source b ON b.project = a.original_key AND b.issue_num = a.issue_num
WHERE a.flagged
ORDER BY a.id
