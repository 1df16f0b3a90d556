-- Issue folders of the chosen pass that the Jira account cannot enter (found by the walk).
CREATE OR REPLACE TEMP VIEW blocked_source AS
SELECT project, issue_num, detail FROM state.blocked_folders WHERE pass_id = getvariable('pass_id');
