-- What Jira Cloud said about the chosen pass's issues (status, its category, last update).
CREATE OR REPLACE TEMP VIEW facts_source AS
SELECT issue_id, status, status_category, issue_type, updated
FROM state.issue_facts WHERE pass_id = getvariable('pass_id');
