-- Read the state once for a report: flagged rows and orphans are few, and every list and
-- count below is answered from these in-memory tables instead of re-scanning SQLite.
-- Orphans are the walked files no row owns; the writer settled ownership as it stored the
-- pass (disk_files.owned), so no join of every file against every row is needed here.
CREATE OR REPLACE TEMP TABLE orphan_rows AS
SELECT relpath, size, kind, att_id FROM disk_files WHERE kind <> 'unlistable' AND NOT owned;
