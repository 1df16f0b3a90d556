UPDATE disk_files SET size = ? WHERE pass_id = ? AND relpath = ?
