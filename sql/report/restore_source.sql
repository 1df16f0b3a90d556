-- The restores of the chosen pass (inspector restore --apply; sql/state/schema_v6.sql).
CREATE OR REPLACE TEMP VIEW restore_source AS
SELECT * FROM state.restores WHERE pass_id = getvariable('pass_id');
