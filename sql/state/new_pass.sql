INSERT INTO passes (status, started_at, attachments_root, jira_url, jira_uid, jira_gids, rows_estimate)
VALUES ('running', ?, ?, ?, ?, ?, ?)
