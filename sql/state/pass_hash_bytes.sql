SELECT hash_bytes FROM passes WHERE pass_id = ?
