-- A batch of the re-verification part is stored: the new part is complete by then.
UPDATE passes SET new_done = 1, cursor_old = max(cursor_old, ?), rows_done = rows_done + ? WHERE pass_id = ?
