-- Orphans so far (for `inspector status`): walked files whose name claims no attachment id, or
-- an id whose row is already read and lives elsewhere or not at all. A file whose id the reader
-- has not reached yet is not counted (it may still be claimed): the number only grows to the
-- report's. Ids read: up to :cursor_id on a first pass; on a later one the new ids above
-- :head_id up to :cursor_id, then the old ones up to :cursor_old (:reader_done: every id).
-- An issue folder's files that claim an id are one row per folder (walked_folders: names
-- joined by '/'), split here again.
WITH RECURSIVE split (folder, name, rest) AS (
    SELECT folder, '', names || '/' FROM walked_folders WHERE pass_id = :pass_id
    UNION ALL
    SELECT folder, substr(rest, 1, instr(rest, '/') - 1), substr(rest, instr(rest, '/') + 1)
    FROM split WHERE rest <> ''
),
walked (pass_id, relpath, att_id) AS (
    SELECT pass_id, relpath, att_id FROM disk_files WHERE pass_id = :pass_id AND kind <> 'unlistable'
    UNION ALL
    SELECT :pass_id, folder || '/' || name,
           CAST(CASE WHEN instr(name, '_') > 0 THEN substr(name, 1, instr(name, '_') - 1) ELSE name END AS INTEGER)
    FROM split WHERE name <> ''
)
SELECT count(*)
FROM walked d
WHERE (d.att_id IS NULL
       OR ((:reader_done
            OR (:head_id = 0 AND d.att_id <= :cursor_id)
            OR (:head_id > 0 AND d.att_id > :head_id AND d.att_id <= :cursor_id)
            OR (:head_id > 0 AND :new_done AND d.att_id <= :cursor_old))
           AND NOT EXISTS (SELECT 1 FROM results r
                           WHERE r.pass_id = d.pass_id AND r.id = d.att_id AND r.relpath = d.relpath)))
