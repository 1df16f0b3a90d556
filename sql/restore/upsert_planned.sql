-- A planned row of restore --apply; a row already restored (or found fine) keeps its status.
INSERT INTO restores (pass_id, id, relpath, finding, backup, backup_path, expected, backup_size, status, message)
VALUES (:pass_id, :id, :relpath, :finding, :backup, :backup_path, :expected, :backup_size, :status, :message)
ON CONFLICT (pass_id, id) DO UPDATE SET
    relpath = excluded.relpath, finding = excluded.finding, backup = excluded.backup,
    backup_path = excluded.backup_path, expected = excluded.expected, backup_size = excluded.backup_size,
    status = excluded.status, message = excluded.message
WHERE restores.status NOT IN ('restored', 'already_ok')
