-- An issue folder's files that claim an id. IGNORE: a resumed walk lists the interrupted unit again.
INSERT OR IGNORE INTO walked_folders (pass_id, folder, names) VALUES (?, ?, ?)
