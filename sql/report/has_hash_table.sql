SELECT count(*) FROM duckdb_tables() WHERE database_name = 'state' AND table_name = 'file_hashes'
