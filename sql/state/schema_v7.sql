-- Version 7: Jira Cloud (INSPECTOR_JIRA_CLOUD_URL). A Cloud pass reads partitions (a project,
-- or a range of a big project's issue numbers) at once; each keeps the last issue number whose
-- rows are stored, so a killed pass continues every partition there. What only Cloud knows
-- about an issue (status, its category, type, last update) and an attachment's author account
-- id are kept beside the results (NULL-free: a Data Center pass has no rows here).
CREATE TABLE cloud_partitions (
    pass_id     INTEGER NOT NULL,
    name        TEXT    NOT NULL,                 -- KEY#n
    project     TEXT    NOT NULL,
    after_num   INTEGER NOT NULL,                 -- issues numbered above this ...
    stop_num    INTEGER,                          -- ... up to this (NULL: no end)
    cursor_num  INTEGER NOT NULL DEFAULT 0,       -- every issue up to this number is stored
    done        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (pass_id, name)
);

CREATE TABLE issue_facts (
    pass_id          INTEGER NOT NULL,
    issue_id         INTEGER NOT NULL,
    status           TEXT,
    status_category  TEXT,                        -- new | indeterminate | done
    issue_type       TEXT,
    updated          INTEGER,                     -- unix seconds
    PRIMARY KEY (pass_id, issue_id)
);

CREATE TABLE attachment_authors (
    pass_id     INTEGER NOT NULL,
    id          INTEGER NOT NULL,
    account_id  TEXT    NOT NULL,
    PRIMARY KEY (pass_id, id)
);
