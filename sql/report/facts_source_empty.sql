-- A state file from before schema 7 has no issue facts (and a Data Center pass has none).
CREATE OR REPLACE TEMP VIEW facts_source AS
SELECT NULL::BIGINT AS issue_id, NULL::VARCHAR AS status, NULL::VARCHAR AS status_category,
       NULL::VARCHAR AS issue_type, NULL::BIGINT AS updated
WHERE false;
