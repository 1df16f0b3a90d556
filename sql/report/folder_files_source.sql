-- An issue folder's files that claim an id, as the walk stored them (one row per folder, their
-- names joined by '/'; state schema 11), one row per file again. Every name here claims an id:
-- its digits before any '_'.
CREATE OR REPLACE TEMP VIEW folder_files_source AS
SELECT folder || '/' || name AS relpath, CAST(split_part(name, '_', 1) AS BIGINT) AS att_id
FROM (SELECT folder, unnest(string_split(names, '/')) AS name
      FROM state.walked_folders WHERE pass_id = getvariable('pass_id'));
