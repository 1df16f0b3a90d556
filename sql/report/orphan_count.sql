-- How many orphans the report holds (report.size_orphans).
SELECT count(*) FROM orphan_rows
