-- One checked attachment. REPLACE: rows above the cursor may already be stored by a run
-- that was killed, and are re-checked on resume without being counted twice.
INSERT OR REPLACE INTO results (
    pass_id, id, issue_id, issue_exists, issue_num, project_id, project_key, original_key, project_name,
    issue_summary, filename, filesize, mimetype, author, created,
    relpath, actual_size, mode, uid, gid, mtime, flags, detail
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
