-- The orphans' own rows: files that claim no id, and those whose key no row owns; the compact
-- tables are no longer needed.
INSERT INTO orphan_rows
SELECT d.relpath, d.size, d.kind, d.att_id
FROM state.disk_files d
WHERE d.pass_id = getvariable('pass_id') AND d.kind <> 'unlistable'
  AND (d.att_id IS NULL OR hash(d.att_id, d.relpath) IN (SELECT k FROM orphan_keys));
DROP TABLE owned;
DROP TABLE walked;
