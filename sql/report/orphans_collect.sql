-- The orphans' own rows, found by their keys; the compact tables are no longer needed.
INSERT INTO orphan_rows
SELECT d.relpath, d.size, d.kind, d.att_id
FROM state.disk_files d
JOIN orphan_keys k ON k.h = hash(d.relpath) AND k.att_id IS NOT DISTINCT FROM d.att_id
WHERE d.pass_id = getvariable('pass_id') AND d.kind <> 'unlistable';
DROP TABLE owned;
DROP TABLE walked;
