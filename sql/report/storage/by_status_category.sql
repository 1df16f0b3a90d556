SELECT * FROM storage_by_status_category ORDER BY bytes DESC, status_category NULLS LAST
