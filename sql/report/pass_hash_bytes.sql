SELECT hash_bytes FROM state.passes WHERE pass_id = getvariable('pass_id')
