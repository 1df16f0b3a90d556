-- One path per line, relative to the attachments root.
SELECT txt(relpath) AS line FROM orphan_rows ORDER BY relpath
