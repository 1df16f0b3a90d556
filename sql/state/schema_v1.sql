-- The state file, version 1. Results of every pass are kept per pass_id so the previous
-- finished pass stays queryable while a new one runs. Plain rowid tables on purpose: DuckDB's
-- sqlite scanner reads by ROWID and fails on WITHOUT ROWID tables.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE passes (
    pass_id          INTEGER PRIMARY KEY,
    status           TEXT    NOT NULL,            -- running | finished | abandoned
    started_at       TEXT    NOT NULL,            -- UTC, ISO 8601
    finished_at      TEXT,
    attachments_root TEXT    NOT NULL,
    jira_url         TEXT    NOT NULL,
    jira_uid         INTEGER NOT NULL,
    jira_gids        TEXT    NOT NULL,
    rows_estimate    INTEGER,
    cursor_id        INTEGER NOT NULL DEFAULT 0,  -- every row with id <= cursor_id is stored
    rows_done        INTEGER NOT NULL DEFAULT 0,
    reader_done      INTEGER NOT NULL DEFAULT 0,
    walk_cursor      TEXT,                        -- last project/bucket folder fully walked
    walk_done        INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE results (
    pass_id         INTEGER NOT NULL,
    id              INTEGER NOT NULL,
    issue_id        INTEGER,
    issue_exists    INTEGER NOT NULL,
    issue_num       INTEGER,
    project_id      INTEGER,
    project_key     TEXT,
    original_key    TEXT,
    project_name    TEXT,
    issue_summary   TEXT,
    filename        TEXT,
    filesize        INTEGER,
    mimetype        TEXT,
    author          TEXT,
    created         INTEGER,                      -- unix seconds
    relpath         TEXT,                         -- where the file is (or should be), from the root
    actual_size     INTEGER,
    mode            INTEGER,
    uid             INTEGER,
    gid             INTEGER,
    mtime           INTEGER,
    flags           INTEGER NOT NULL,             -- 1 missing, 2 permissions, 4 corrupted, 8 error
    detail          TEXT,                         -- what is wrong, for flagged rows
    PRIMARY KEY (pass_id, id)
);

CREATE TABLE disk_files (
    pass_id  INTEGER NOT NULL,
    relpath  TEXT    NOT NULL,
    att_id   INTEGER,                             -- id the name claims (<id> or <id>_<name>)
    size     INTEGER,
    kind     TEXT    NOT NULL,                    -- file | symlink | other | unlistable
    PRIMARY KEY (pass_id, relpath)
);
