-- The orphans' own rows: files that claim no id, and those whose key no row owns; in the same
-- read of the walked entries, the folders the walk could not list (for summary.json: a read of
-- its own cost 0.2 s at 1M attachments). The compact tables are no longer needed. Every list
-- sorts its rows: the read need not keep their order, so both threads can do it.
-- (orphans_resized.sql reads them again the same way.)
CREATE OR REPLACE TEMP MACRO walk_extras_in_state() AS TABLE
SELECT d.relpath, d.size, d.kind, d.att_id
FROM state.disk_files d
WHERE d.pass_id = getvariable('pass_id')
  AND (d.kind = 'unlistable' OR d.att_id IS NULL OR hash(d.att_id, d.relpath) IN (SELECT k FROM orphan_keys))
UNION ALL
SELECT f.relpath, NULL::BIGINT, 'file', f.att_id
FROM folder_files_source f
WHERE hash(f.att_id, f.relpath) IN (SELECT k FROM orphan_keys);
SET preserve_insertion_order = false;
CREATE OR REPLACE TEMP TABLE walk_extras AS FROM walk_extras_in_state();
SET preserve_insertion_order = true;
INSERT INTO orphan_rows SELECT * FROM walk_extras WHERE kind <> 'unlistable';
SET VARIABLE unlistable_folders = (SELECT count(*) FROM walk_extras WHERE kind = 'unlistable');
DROP TABLE walk_extras;
DROP TABLE owned;
DROP TABLE walked;
