-- Exactly the privileges the inspector needs (see README, "Database access").
GRANT SELECT ON fileattachment, jiraissue, project TO inspector_ro
