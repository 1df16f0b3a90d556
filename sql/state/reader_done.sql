UPDATE passes SET reader_done = 1 WHERE pass_id = ?
