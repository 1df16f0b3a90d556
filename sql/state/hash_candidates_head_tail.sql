-- Files of this pass that may have a twin and have no valid head/tail hash yet. Only files
-- that exist and are readable (no missing, permissions or error flag) and are not empty;
-- a file whose size no other file has is never read.
WITH usable AS (
    SELECT relpath, actual_size AS size, mtime
    FROM results
    WHERE pass_id = :pass_id AND (flags & :unhashable) = 0 AND actual_size > 0 AND relpath IS NOT NULL
), twins AS (
    SELECT size FROM usable GROUP BY size HAVING count(*) > 1
)
SELECT u.relpath, u.size, u.mtime
FROM usable u
JOIN twins t ON t.size = u.size
LEFT JOIN file_hashes h ON h.relpath = u.relpath AND h.size = u.size AND h.mtime = u.mtime
WHERE h.relpath IS NULL OR (h.head_tail IS NULL AND h.error IS NULL)
ORDER BY u.relpath
