INSERT OR REPLACE INTO issue_facts (pass_id, issue_id, status, status_category, issue_type, updated)
VALUES (?, ?, ?, ?, ?, ?)
