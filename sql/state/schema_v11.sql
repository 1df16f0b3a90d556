-- Version 11: an issue folder's plain files that claim an attachment id (nearly every file the
-- walk finds) as one row per folder: their names joined by '/', which no name can hold. Every
-- other walked entry stays a row of disk_files; the report reads both (folder_files_source.sql,
-- and the disk_files view of views.sql). 200,000 attachments: 86,000 rows instead of 200,000 (the writer's CPU for the
-- walk, and the report's reads of it).
CREATE TABLE walked_folders (
    pass_id INTEGER NOT NULL,
    folder  TEXT    NOT NULL,                     -- <KEY>/<bucket>/<KEY>-<n>, from the root
    names   TEXT    NOT NULL,                     -- '<id>' or '<id>_<name>', joined by '/'
    PRIMARY KEY (pass_id, folder)
);
