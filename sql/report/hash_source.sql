CREATE OR REPLACE TEMP VIEW hash_source AS SELECT * FROM state.file_hashes
