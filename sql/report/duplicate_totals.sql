SELECT count(*), coalesce(sum(files - 1), 0), coalesce(sum(wasted_bytes), 0) FROM duplicate_groups
