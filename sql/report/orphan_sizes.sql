-- Sizes for orphans found by orphans_unsized.sql, while they are few (report.size_orphans): a
-- list of row numbers and one of sizes, one statement for a whole range of rows (an UPDATE
-- for each orphan scanned the table once per orphan).
UPDATE orphan_rows SET size = s.size
FROM (SELECT unnest(?::BIGINT[]) AS r, unnest(?::BIGINT[]) AS size) s
WHERE orphan_rows.rowid = s.r
