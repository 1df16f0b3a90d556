-- The restore rows report.html lists one by one: everything not restored or found fine.
SELECT status, link, filename, issue_key, relpath, message
FROM restores WHERE status NOT IN ('restored', 'already_ok') ORDER BY status, id LIMIT 500
