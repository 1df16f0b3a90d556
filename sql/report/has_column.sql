-- Whether a table of the attached state file has a column (older schema versions lack some).
SELECT count(*) FROM duckdb_columns() WHERE database_name = 'state' AND table_name = ? AND column_name = ?
