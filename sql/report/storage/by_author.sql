SELECT * FROM storage_by_author ORDER BY bytes DESC, author LIMIT 100
