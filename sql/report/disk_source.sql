-- Walked entries of the chosen pass, with the ownership the writer settled.
CREATE OR REPLACE TEMP VIEW disk_source AS
SELECT relpath, att_id, size, kind, owned = 1 AS owned
FROM state.disk_files WHERE pass_id = getvariable('pass_id');
