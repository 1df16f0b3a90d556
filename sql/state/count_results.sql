SELECT count(*) FROM results WHERE pass_id = ?
