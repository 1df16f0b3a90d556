ANALYZE fileattachment, jiraissue, project
