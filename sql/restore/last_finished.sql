-- The pass a restore works from unless --pass names one: the newest finished pass.
SELECT max(pass_id) FROM passes WHERE status = 'finished'
