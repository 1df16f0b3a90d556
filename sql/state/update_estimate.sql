UPDATE passes SET rows_estimate = ?, jira_url = ? WHERE pass_id = ?
