-- A state file from before schema 6 has no restores table: no restore was ever applied.
CREATE OR REPLACE TEMP VIEW restore_source AS
SELECT NULL::BIGINT AS pass_id, NULL::BIGINT AS id, NULL::VARCHAR AS relpath, NULL::VARCHAR AS finding,
       NULL::VARCHAR AS backup, NULL::VARCHAR AS backup_path, NULL::BIGINT AS expected,
       NULL::BIGINT AS backup_size, NULL::VARCHAR AS status, NULL::BIGINT AS bytes,
       NULL::VARCHAR AS started_at, NULL::VARCHAR AS finished_at, NULL::VARCHAR AS message,
       NULL::VARCHAR AS quarantined
WHERE false;
