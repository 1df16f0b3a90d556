UPDATE passes SET rows_done = ? WHERE pass_id = ?
