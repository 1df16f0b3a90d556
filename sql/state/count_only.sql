UPDATE passes SET rows_done = rows_done + ? WHERE pass_id = ?
