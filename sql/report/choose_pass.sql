-- The newest pass that is running or finished (abandoned passes only when asked for by id).
SELECT max(pass_id) FROM state.passes WHERE status IN ('running', 'finished')
