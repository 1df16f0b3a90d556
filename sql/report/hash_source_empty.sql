-- A state file from before content hashing (schema < 3) has no file_hashes table: the
-- duplicate views read this empty stand-in instead.
CREATE OR REPLACE TEMP VIEW hash_source AS
SELECT NULL::VARCHAR AS relpath, NULL::BIGINT AS size, NULL::BIGINT AS mtime, NULL::BLOB AS head_tail,
       NULL::BLOB AS full_hash, NULL::VARCHAR AS error, NULL::VARCHAR AS hashed_at
WHERE false
