-- One path per line, relative to the attachments root.
SELECT txt(relpath) AS line FROM orphans ORDER BY relpath
