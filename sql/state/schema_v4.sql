-- Version 4: issue folders the Jira account cannot enter, found by the walk (it opens every
-- issue folder anyway, so their mode costs one fstat of an fd already open). Checkers then
-- need no stat of the issue folder per row; the report views add this verdict to every row
-- of the folder, keyed like Jira derives the folder: original project key and issue number.
CREATE TABLE blocked_folders (
    pass_id    INTEGER NOT NULL,
    project    TEXT    NOT NULL,
    issue_num  INTEGER NOT NULL,
    relpath    TEXT    NOT NULL,
    detail     TEXT    NOT NULL,
    PRIMARY KEY (pass_id, project, issue_num)
);
