-- Read the state once for a report: flagged rows are few, and every list and count below is
-- answered from this in-memory table instead of re-scanning SQLite (flagged.sql, after the
-- orphans, whose compact tables are dropped by then).
CREATE OR REPLACE TEMP TABLE orphan_rows (relpath VARCHAR, size BIGINT, kind VARCHAR, att_id BIGINT);
-- Orphans: every path is read once, as (id, 64-bit hash of the path), into two compact tables
-- (16 bytes a file); the anti-join runs over them one id range at a time (orphans_partition.sql)
-- so its hash table stays small, and only the orphans' own rows are read back in full
-- (orphans_collect.sql). SQLite cannot serve an id range without reading the whole table
-- here, so ranges over the state itself would read it once per range.
CREATE OR REPLACE TEMP TABLE owned AS
SELECT id, hash(relpath) AS h FROM state.results WHERE pass_id = getvariable('pass_id') AND relpath IS NOT NULL;
CREATE OR REPLACE TEMP TABLE walked AS
SELECT att_id, hash(relpath) AS h FROM state.disk_files WHERE pass_id = getvariable('pass_id') AND kind <> 'unlistable';
CREATE OR REPLACE TEMP TABLE orphan_keys (att_id BIGINT, h UBIGINT);
