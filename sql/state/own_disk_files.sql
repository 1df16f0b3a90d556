-- A stored row owns the walked file at exactly its path (one primary-key lookup per row).
UPDATE disk_files SET owned = 1 WHERE pass_id = ?1 AND relpath = ?2 AND att_id = ?3
