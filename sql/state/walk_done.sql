UPDATE passes SET walk_done = 1 WHERE pass_id = ?
