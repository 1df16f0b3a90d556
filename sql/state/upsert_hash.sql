-- A hash taken (or the reason it could not be): replaces what was known about that path.
-- A head/tail hash of a changed file drops its stale full hash; a full hash keeps head_tail.
INSERT INTO file_hashes (relpath, size, mtime, head_tail, full_hash, error, hashed_at)
VALUES (:relpath, :size, :mtime, :head_tail, :full_hash, :error, :hashed_at)
ON CONFLICT (relpath) DO UPDATE SET
    head_tail = coalesce(excluded.head_tail,
                         CASE WHEN file_hashes.size = excluded.size AND file_hashes.mtime = excluded.mtime
                              THEN file_hashes.head_tail END),
    full_hash = coalesce(excluded.full_hash,
                         CASE WHEN file_hashes.size = excluded.size AND file_hashes.mtime = excluded.mtime
                              THEN file_hashes.full_hash END),
    size      = excluded.size,
    mtime     = excluded.mtime,
    error     = excluded.error,
    hashed_at = excluded.hashed_at
