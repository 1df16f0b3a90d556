COPY jiraissue (id, pkey, issuenum, project, summary, issuetype, issuestatus, created, updated) FROM STDIN
