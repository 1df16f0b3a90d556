-- A state file from before schema 4 has no blocked_folders table: its checkers judged issue
-- folders per row, so nothing is added.
CREATE OR REPLACE TEMP VIEW blocked_source AS
SELECT NULL::VARCHAR AS project, NULL::BIGINT AS issue_num, NULL::VARCHAR AS detail WHERE false;
