-- Hashes of paths that no kept pass has a row for (the attachment was deleted, or its issue
-- moved): no later pass can use them, and without this the table would grow by every
-- attachment ever deleted. Run only when a pass was dropped, as only then can a path leave.
DELETE FROM file_hashes
WHERE relpath NOT IN (SELECT relpath FROM results WHERE relpath IS NOT NULL)
