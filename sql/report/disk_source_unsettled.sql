-- A state file from before schema 4 has no owned column (reports never migrate): a file is
-- owned when a row of the pass resolved to exactly its path.
CREATE OR REPLACE TEMP VIEW disk_source AS
SELECT d.relpath, d.att_id, d.size, d.kind,
       EXISTS (SELECT 1 FROM state.results r
               WHERE r.pass_id = d.pass_id AND r.id = d.att_id AND r.relpath = d.relpath) AS owned
FROM state.disk_files d WHERE d.pass_id = getvariable('pass_id');
