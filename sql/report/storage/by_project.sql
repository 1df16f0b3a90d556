SELECT * FROM storage_by_project ORDER BY bytes DESC, project_key NULLS LAST
