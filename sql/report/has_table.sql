-- Whether the attached state file has a table (older schema versions lack the newer ones).
SELECT count(*) FROM duckdb_tables() WHERE database_name = 'state' AND table_name = ?
