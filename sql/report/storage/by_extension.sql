SELECT extension, sum(attachments) AS attachments, sum(bytes) AS bytes FROM storage_by_type GROUP BY 1 ORDER BY bytes DESC, extension LIMIT 100
