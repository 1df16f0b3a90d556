-- head_id: the highest attachment id the last finished pass saw; ids above it are new.
INSERT INTO passes (status, started_at, attachments_root, jira_url, jira_uid, jira_gids, rows_estimate, head_id,
                    shard_count, shard_index, source, run_id)
VALUES ('running', ?, ?, ?, ?, ?, ?,
        (SELECT coalesce(max(r.id), 0) FROM results r
         WHERE r.pass_id = (SELECT max(pass_id) FROM passes WHERE status = 'finished')),
        ?, ?, ?, ?)
