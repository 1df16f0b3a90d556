-- An issue folder the Jira account cannot enter. IGNORE: a resumed walk lists its unit again.
INSERT OR IGNORE INTO blocked_folders (pass_id, project, issue_num, relpath, detail) VALUES (?, ?, ?, ?, ?)
