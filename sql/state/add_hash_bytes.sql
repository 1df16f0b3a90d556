-- Bytes read for hashing in this pass (the second pass over unchanged files reads none).
UPDATE passes SET hash_bytes = hash_bytes + ? WHERE pass_id = ?
