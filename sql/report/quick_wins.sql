-- The duplicate groups that free the most space (storage.json's quick_wins).
SELECT * FROM duplicate_groups ORDER BY wasted_bytes DESC, group_id LIMIT ?
