UPDATE passes SET walk_cursor = ? WHERE pass_id = ?
