-- A state file from before schema 11 keeps every walked file in disk_files.
CREATE OR REPLACE TEMP VIEW folder_files_source AS
SELECT NULL::VARCHAR AS relpath, NULL::BIGINT AS att_id WHERE false;
