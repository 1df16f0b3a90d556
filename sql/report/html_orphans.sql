SELECT relpath, size FROM orphan_rows ORDER BY relpath
