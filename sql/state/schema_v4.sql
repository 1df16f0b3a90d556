-- Version 4: issue folders the Jira account cannot enter, found by the walk (it opens every
-- issue folder anyway, so their mode costs one fstat of an fd already open). Checkers then
-- need no stat of the issue folder per row; the report views add this verdict to every row
-- of the folder, keyed like Jira derives the folder: original project key and issue number.
CREATE TABLE blocked_folders (
    pass_id    INTEGER NOT NULL,
    project    TEXT    NOT NULL,
    issue_num  INTEGER NOT NULL,
    relpath    TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    PRIMARY KEY (pass_id, project, issue_num)
);

-- Ownership is settled as the pass is stored: the writer marks a walked file owned when a
-- row resolved to exactly its path (whichever of the two arrives second does it), so the
-- report reads the orphans off this flag instead of joining every file against every row.
-- Passes stored before version 4 are settled here, once.
ALTER TABLE disk_files ADD COLUMN owned INTEGER NOT NULL DEFAULT 0;
UPDATE disk_files SET owned = 1
WHERE EXISTS (SELECT 1 FROM results r
              WHERE r.pass_id = disk_files.pass_id AND r.id = disk_files.att_id AND r.relpath = disk_files.relpath);
