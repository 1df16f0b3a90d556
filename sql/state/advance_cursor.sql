UPDATE passes SET cursor_id = max(cursor_id, ?), rows_done = rows_done + ? WHERE pass_id = ?
