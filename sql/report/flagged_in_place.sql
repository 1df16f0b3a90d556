-- flagged.sql for the shown rows read with a scan (shown_rows_scan.sql): they are many, so
-- they are kept under the new name once the few others are deleted, not copied (after a bad
-- chown, a copy of every attachment ran out of the build's memory at 5M attachments).
DELETE FROM shown_rows WHERE NOT flagged;
DROP TABLE IF EXISTS flagged_rows;
ALTER TABLE shown_rows RENAME TO flagged_rows;
