-- Files of this pass whose size and head/tail hash match another file's and whose full hash
-- is not known yet: only these are read whole.
WITH usable AS (
    SELECT r.relpath, r.actual_size AS size, r.mtime, h.head_tail, h.full_hash
    FROM results r
    JOIN file_hashes h ON h.relpath = r.relpath AND h.size = r.actual_size AND h.mtime = r.mtime
    WHERE r.pass_id = :pass_id AND (r.flags & :unhashable) = 0 AND r.actual_size > 0 AND h.head_tail IS NOT NULL
), twins AS (
    SELECT size, head_tail FROM usable GROUP BY size, head_tail HAVING count(*) > 1
)
SELECT u.relpath, u.size, u.mtime
FROM usable u
JOIN twins t ON t.size = u.size AND t.head_tail = u.head_tail
WHERE u.full_hash IS NULL
ORDER BY u.relpath
