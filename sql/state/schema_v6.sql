-- Version 6: restores from a backup (inspector restore --apply). One row per attachment of
-- the pass whose findings are restored: where it goes (relpath, from the attachments root),
-- where the backup holds it, and how far it got. status: pending | copying | restored |
-- already_ok | not_in_backup | backup_differs | error. bytes counts what this restore wrote
-- (a copy continued after a kill adds to it); quarantined where a corrupted file was moved.
CREATE TABLE restores (
    pass_id      INTEGER NOT NULL,
    id           INTEGER NOT NULL,
    relpath      TEXT    NOT NULL,
    finding      TEXT    NOT NULL,                -- missing | corrupted
    backup       TEXT    NOT NULL,                -- the --from source, as given (never a password)
    backup_path  TEXT,                            -- where the backup holds it, from its root
    expected     INTEGER,                         -- filesize in Jira's database
    backup_size  INTEGER,
    status       TEXT    NOT NULL,
    bytes        INTEGER NOT NULL DEFAULT 0,
    started_at   TEXT,                            -- UTC, ISO 8601
    finished_at  TEXT,
    message      TEXT,
    quarantined  TEXT,
    PRIMARY KEY (pass_id, id)
);
