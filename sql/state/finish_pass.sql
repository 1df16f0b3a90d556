UPDATE passes SET status = 'finished', finished_at = ? WHERE pass_id = ?
