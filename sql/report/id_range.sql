SELECT min(id), max(id), count(*) FROM state.results WHERE pass_id = getvariable('pass_id')
