-- years_untouched 3 means three years or more.
SELECT * FROM storage_by_staleness ORDER BY status_category NULLS LAST, years_untouched
