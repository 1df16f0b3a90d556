-- The orphans the walk did not size (it reads names only), a range of rows at a time
-- (report.size_orphans): rows are numbered 0.. in the order they were added.
SELECT rowid, relpath FROM orphan_rows WHERE rowid >= ? AND rowid < ? AND size IS NULL
