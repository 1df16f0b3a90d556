-- Views over the attached state file (schema `state`) for the pass chosen in the variable
-- pass_id. These are the tables documented for `inspector report --sql`. Times are UTC
-- TIMESTAMPs (not TIMESTAMPTZ: those need pytz to reach Python, which we do not ship).
CREATE OR REPLACE MACRO txt(s) AS
    regexp_replace(
        replace(replace(replace(replace(coalesce(CAST(s AS VARCHAR), ''), '\', '\\'),
            chr(9), '\t'), chr(10), '\n'), chr(13), '\r'),
        '[\x00-\x1f\x7f]', '?', 'g');

-- One line of a flagged list (missing.txt and the others): link, then issue key, project,
-- filename and detail, tab-separated, each through txt() so tabs and newlines in names stay
-- escaped (list_flagged.sql and list_flagged_sorted.sql).
CREATE OR REPLACE MACRO flagged_line(link, issue_key, issue_id, project_name, filename, detail) AS
    txt(link) || chr(9) || txt(coalesce(issue_key, 'issue ' || coalesce(CAST(issue_id AS VARCHAR), '?')))
    || chr(9) || txt(coalesce(project_name, '?')) || chr(9) || txt(filename) || chr(9) || txt(detail);

CREATE OR REPLACE VIEW passes AS
SELECT pass_id, status, started_at, finished_at, attachments_root, jira_url, jira_uid, jira_gids,
       rows_estimate, rows_done, cursor_id, reader_done = 1 AS reader_done, walk_done = 1 AS walk_done
FROM state.passes;

CREATE OR REPLACE VIEW current_pass AS
SELECT * FROM passes WHERE pass_id = getvariable('pass_id');

-- Checked rows with the walk's verdict on their issue folder added (blocked_source): checkers
-- do not stat issue folders, the walk judges each one from the fd it lists it with. Both
-- are macros over a table of result rows (`src`): the views read the whole state, a report
-- build also the rows it read by id (shown_ids.sql, shown_rows.sql).
CREATE OR REPLACE MACRO checked_in(src) AS TABLE
-- (A row without a relpath never reached its folder; the test is kept out of the ON clause so
-- the join stays a hash join.)
SELECT r.* REPLACE (
           r.flags | CASE WHEN b.detail IS NULL OR r.relpath IS NULL THEN 0 ELSE 2 END AS flags,
           CASE WHEN b.detail IS NULL OR r.relpath IS NULL THEN r.detail
                WHEN r.detail IS NULL THEN b.detail
                ELSE b.detail || '; ' || r.detail END AS detail)
FROM query_table(src) r
LEFT JOIN blocked_source b ON b.project = r.original_key AND b.issue_num = r.issue_num
WHERE r.pass_id = getvariable('pass_id');

CREATE OR REPLACE VIEW checked AS FROM checked_in('state.results');

CREATE OR REPLACE MACRO attachments_in(src) AS TABLE
SELECT r.id, r.issue_id,
       CASE WHEN r.project_key IS NOT NULL AND r.issue_num IS NOT NULL
            THEN r.project_key || '-' || r.issue_num END                      AS issue_key,
       r.project_key, r.original_key,
       -- a row whose issue or project is gone says so (Jira cannot show it; no name is known)
       coalesce(r.project_name, CASE WHEN r.issue_exists = 0 THEN '(issue deleted)'
                                     WHEN r.project_key IS NULL THEN '(project deleted)' END) AS project_name,
       r.issue_summary,
       r.filename, r.filesize, r.mimetype, r.author, make_timestamp(r.created * 1000000) AS created,
       r.relpath, r.actual_size, r.mode, r.uid, r.gid, make_timestamp(r.mtime * 1000000) AS mtime,
       (r.flags & getvariable('flag_missing')) <> 0 AS missing,
       (r.flags & getvariable('flag_permissions')) <> 0 AS permissions,
       (r.flags & getvariable('flag_corrupted')) <> 0 AS corrupted,
       (r.flags & getvariable('flag_error')) <> 0 AS error,
       r.flags <> 0 AS flagged, r.flags, r.detail,
       p.jira_url || '/secure/attachment/' || r.id || '/' || url_encode(coalesce(r.filename, '')) AS link,
       CASE WHEN r.project_key IS NOT NULL AND r.issue_num IS NOT NULL
            THEN p.jira_url || '/browse/' || r.project_key || '-' || r.issue_num END AS issue_link,
       r.issue_num, r.issue_exists = 1 AS issue_exists, r.mtime AS mtime_unix
FROM checked_in(src) r
JOIN state.passes p ON p.pass_id = r.pass_id;

CREATE OR REPLACE VIEW attachments AS FROM attachments_in('state.results');

-- Every walked entry: those stored one per row, and the issue folders' files that claim an id,
-- stored one row per folder (folder_files_source).
CREATE OR REPLACE VIEW disk_files AS
SELECT relpath, att_id, size, kind FROM state.disk_files WHERE pass_id = getvariable('pass_id')
UNION ALL
SELECT relpath, att_id, NULL::BIGINT AS size, 'file' AS kind FROM folder_files_source;

-- A file is owned when a row resolved to exactly its path, even a broken one: a dangling
-- symlink is reported once, as missing, not again as an orphan.
CREATE OR REPLACE VIEW orphans AS
SELECT d.relpath, d.size, d.kind, d.att_id
FROM disk_files d
WHERE d.kind <> 'unlistable'
  AND NOT EXISTS (
      SELECT 1 FROM attachments a WHERE a.id = d.att_id AND a.relpath = d.relpath);

CREATE OR REPLACE VIEW missing AS SELECT * FROM attachments WHERE missing;
CREATE OR REPLACE VIEW permissions AS SELECT * FROM attachments WHERE permissions;
CREATE OR REPLACE VIEW corrupted AS SELECT * FROM attachments WHERE corrupted;
CREATE OR REPLACE VIEW errors AS SELECT * FROM attachments WHERE error;

-- What `inspector restore --apply` did for the attachments of this pass: one row each, with the
-- attachment's link (times UTC).
CREATE OR REPLACE VIEW restores AS
SELECT r.id, a.issue_key, a.filename, a.link, r.finding, r.status, r.relpath, r.backup, r.backup_path,
       r.expected, r.backup_size, r.bytes, CAST(r.started_at AS TIMESTAMP) AS started_at,
       CAST(r.finished_at AS TIMESTAMP) AS finished_at, r.message, r.quarantined
FROM restore_source r
LEFT JOIN attachments a ON a.id = r.id;
