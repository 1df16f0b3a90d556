-- Read the state once for a report: flagged rows are few, and every list and count below is
-- answered from this in-memory table instead of re-scanning SQLite (flagged.sql, after the
-- orphans, whose compact tables are dropped by then).
CREATE OR REPLACE TEMP TABLE orphan_rows (relpath VARCHAR, size BIGINT, kind VARCHAR, att_id BIGINT);
-- Orphans: every walked file that claims an id and every row with a path is read once, as one
-- 64-bit hash of (id, path), into two compact tables (8 bytes a file). A file is owned when a
-- row of the pass resolved to exactly its path: same key (a false match needs colliding
-- 64-bit hashes, about one chance in 10^19). The anti-join runs one key range at a time
-- (orphans_partition.sql) so its hash table stays small; files that claim no id are orphans
-- without a join. Only the orphans' own rows are read back in full (orphans_collect.sql).
-- Their order does not matter: without it DuckDB fills each table from both threads (1M
-- attachments: 0.27 s each instead of 0.5 s).
SET preserve_insertion_order = false;
CREATE OR REPLACE TEMP TABLE owned AS
SELECT hash(id, relpath) AS k FROM state.results
WHERE pass_id = getvariable('pass_id') AND relpath IS NOT NULL;
CREATE OR REPLACE TEMP TABLE walked AS
SELECT hash(att_id, relpath) AS k FROM state.disk_files
WHERE pass_id = getvariable('pass_id') AND kind <> 'unlistable' AND att_id IS NOT NULL
UNION ALL
SELECT hash(att_id, relpath) FROM folder_files_source;
SET preserve_insertion_order = true;
CREATE OR REPLACE TEMP TABLE orphan_keys (k UBIGINT);
