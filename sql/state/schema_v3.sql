-- Version 3: content hashes for duplicate detection (INSPECTOR_HASH=1). Kept across passes
-- and valid while the file keeps the size and mtime it was hashed at, so a later pass
-- re-reads only files that changed. head_tail hashes the first and last 64 KiB, full_hash the
-- whole content (both BLAKE2b, 32 bytes); error says why the file could not be read.
CREATE TABLE file_hashes (
    relpath    TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    mtime      INTEGER NOT NULL,
    head_tail  BLOB,
    full_hash       BLOB,
    error      TEXT,
    hashed_at  TEXT NOT NULL
);
ALTER TABLE passes ADD COLUMN hash_bytes INTEGER NOT NULL DEFAULT 0;
