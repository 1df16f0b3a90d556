-- A walked entry, owned when its row is stored already (a row stored later marks it:
-- own_disk_files.sql). IGNORE: a resumed walk lists loose files and the interrupted unit again.
INSERT OR IGNORE INTO disk_files (pass_id, relpath, att_id, size, kind, owned)
VALUES (?1, ?2, ?3, ?4, ?5,
        ?3 IS NOT NULL AND EXISTS (SELECT 1 FROM results WHERE pass_id = ?1 AND id = ?3 AND relpath = ?2))
