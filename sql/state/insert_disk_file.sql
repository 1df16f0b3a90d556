-- A walked entry. IGNORE: a resumed walk lists loose files and the interrupted unit again.
INSERT OR IGNORE INTO disk_files (pass_id, relpath, att_id, size, kind, mtime) VALUES (?, ?, ?, ?, ?, ?)
