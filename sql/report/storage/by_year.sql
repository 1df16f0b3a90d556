SELECT * FROM storage_by_year ORDER BY year NULLS LAST
