-- Finished passes beyond the newest ?1, and abandoned ones older than the newest finished.
SELECT pass_id FROM passes
WHERE (status = 'finished'
       AND pass_id NOT IN (SELECT pass_id FROM passes WHERE status = 'finished' ORDER BY pass_id DESC LIMIT ?1))
   OR (status = 'abandoned'
       AND pass_id < (SELECT coalesce(max(pass_id), 0) FROM passes WHERE status = 'finished'))
